// CSV files (RFC 4180: quoted cells may hold commas, quotes and line breaks), parsed by libcsv. Untrusted: a
// malformed quote, a ragged row or an empty file is a prism::Error naming the file, the line and the fix.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace prism {

struct CsvTable {
  std::vector<std::string> header;              // the first row
  std::vector<std::vector<std::string>> rows;   // the rest, each as wide as the header
  std::vector<int64_t> lines;                   // the line each row starts on (1 is the header's)
};

CsvTable parse_csv(const std::string& text, const std::string& source);
CsvTable read_csv(const std::filesystem::path& path);

// `text` as one CSV cell: quoted (quotes doubled) where it holds a comma, a quote or a line break.
std::string csv_cell(const std::string& text);

}  // namespace prism
