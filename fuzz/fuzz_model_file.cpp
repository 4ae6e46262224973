// libFuzzer target: prism's model file (prism::parse_network): JSON header, tensor table, weights.
#include "fuzz_common.h"
#include "prism/model/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  return prism::fuzz::expect_only_errors([&] { prism::parse_network(bytes, "fuzz.prism"); });
}
