// libFuzzer target: CSV tables (prism::parse_csv, over libcsv). A prism::Error is the expected answer to bad
// bytes; anything else (a crash, a sanitizer report, another exception) is a bug.
#include "fuzz_common.h"
#include "prism/io/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return prism::fuzz::expect_only_errors(
      [&] { prism::parse_csv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv"); });
}
