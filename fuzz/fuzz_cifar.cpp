// libFuzzer target: CIFAR-10 binary batches (prism::parse_cifar).
#include "fuzz_common.h"
#include "prism/data/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return prism::fuzz::expect_only_errors([&] { prism::parse_cifar(data, size, "fuzz.bin"); });
}
