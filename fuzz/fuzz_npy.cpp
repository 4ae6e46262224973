// libFuzzer target: NPY arrays (prism::parse_npy). A prism::Error is the expected answer to bad bytes;
// anything else (a crash, a sanitizer report, another exception) is a bug.
#include "fuzz_common.h"
#include "prism/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return prism::fuzz::expect_only_errors([&] { prism::parse_npy(data, size, "fuzz.npy"); });
}
