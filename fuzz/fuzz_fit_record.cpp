// libFuzzer target: a data-attribution fit folder's metadata (prism::open_data_fit reading fit.json and the
// arrays it names). The bytes become fit.json in a scratch folder beside the array the seed corpus names.
#include <unistd.h>

#include <fstream>

#include "fuzz_common.h"
#include "prism/explain/data/attributor.h"
#include "prism/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path dir = [] {
    auto scratch = std::filesystem::temp_directory_path() / ("prism-fuzz-fit-" + std::to_string(getpid()));
    std::filesystem::create_directories(scratch);
    prism::write_npy(scratch / "features.npy", torch::ones({50, 2}));  // what the seed fit.json names
    return scratch;
  }();
  std::ofstream(dir / "fit.json", std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), size);
  return prism::fuzz::expect_only_errors([&] { prism::open_data_fit(dir); });
}
