// libFuzzer target: IDX files (prism::parse_idx), the format of MNIST and Fashion-MNIST.
#include "fuzz_common.h"
#include "prism/data/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return prism::fuzz::expect_only_errors([&] { prism::parse_idx(data, size, "fuzz.idx"); });
}
