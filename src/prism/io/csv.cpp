#include "prism/io/csv.h"

#include <csv.h>

#include <fstream>
#include <sstream>

#include "prism/core/error.h"

namespace prism {
namespace {

// What libcsv's callbacks build: cells of the current record, the finished records, and line counting.
struct CsvBuilder {
  std::vector<std::string> cells;
  std::vector<std::vector<std::string>> records;
  std::vector<int64_t> record_lines;
  int64_t line = 1;         // the line the current record starts on
  int64_t line_breaks = 0;  // inside quoted cells of the current record
};

void on_cell(void* data, size_t size, void* builder) {
  auto& b = *static_cast<CsvBuilder*>(builder);
  std::string cell(data ? static_cast<const char*>(data) : "", data ? size : 0);
  for (char c : cell) b.line_breaks += c == '\n';
  b.cells.push_back(std::move(cell));
}

void on_record(int terminator, void* builder) {
  auto& b = *static_cast<CsvBuilder*>(builder);
  b.records.push_back(std::move(b.cells));
  b.record_lines.push_back(b.line);
  b.cells.clear();
  b.line += 1 + b.line_breaks;
  b.line_breaks = 0;
}

}  // namespace

CsvTable parse_csv(const std::string& text, const std::string& source) {
  csv_parser parser;
  require(csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) == 0, "cannot start the CSV parser");
  CsvBuilder builder;
  const size_t parsed = csv_parse(&parser, text.data(), text.size(), on_cell, on_record, &builder);
  const bool finished = parsed == text.size() && csv_fini(&parser, on_cell, on_record, &builder) == 0;
  const std::string problem = finished ? "" : csv_strerror(csv_error(&parser));
  csv_free(&parser);
  require(finished, source + ": not valid CSV near line " + std::to_string(builder.line) + " (" + problem +
                        "); quote cells that hold commas or quotes, and double the quotes inside them");
  require(!builder.records.empty(), source + " is empty; give a header row and one row per sample");
  CsvTable table;
  table.header = std::move(builder.records.front());
  for (size_t r = 1; r < builder.records.size(); ++r) {
    auto& row = builder.records[r];
    const int64_t line = builder.record_lines[r];
    require(row.size() == table.header.size(),
            source + " line " + std::to_string(line) + " has " + std::to_string(row.size()) + " cells but the header has " +
                std::to_string(table.header.size()) + "; give every row one cell per column");
    table.rows.push_back(std::move(row));
    table.lines.push_back(line);
  }
  return table;
}

CsvTable read_csv(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), path.string() + " cannot be read; check the path after csv:");
  std::stringstream text;
  text << in.rdbuf();
  return parse_csv(text.str(), path.string());
}

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace prism
