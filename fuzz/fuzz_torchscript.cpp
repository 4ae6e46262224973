// libFuzzer target: the TorchScript loading wrapper (prism::load_network on a .pt file, which hands the zip
// archive to LibTorch and then maps the module's layers).
#include <unistd.h>

#include <fstream>

#include "fuzz_common.h"
#include "prism/model/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto path = std::filesystem::temp_directory_path() / ("prism-fuzz-" + std::to_string(getpid()) + ".pt");
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), size);
  return prism::fuzz::expect_only_errors([&] { prism::load_network(path, {1, 28, 28}); }, /*libtorch_parses=*/true);
}
