// libFuzzer target: PNG/JPEG/BMP images through stb_image (prism::decode_image), as image folders are read.
#include "fuzz_common.h"
#include "prism/data/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return prism::fuzz::expect_only_errors([&] { prism::decode_image(data, size, 0, "fuzz.png"); });
}
