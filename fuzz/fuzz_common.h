// What every fuzz target checks: parsing untrusted bytes either succeeds or throws prism::Error (the one-line
// message the CLI prints); LibTorch's own c10::Error only where LibTorch parses (`libtorch_parses`, for
// TorchScript archives). Any other exception aborts, so libFuzzer records the input as a crash.
#pragma once
#include <c10/util/Exception.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "prism/core/error.h"

namespace prism::fuzz {

template <typename F>
int expect_only_errors(F&& parse, bool libtorch_parses = false) {
  try {
    parse();
  } catch (const prism::Error&) {
  } catch (const c10::Error& e) {
    if (!libtorch_parses) {
      std::fprintf(stderr, "unexpected LibTorch error: %s\n", e.what_without_backtrace());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}

}  // namespace prism::fuzz
