#include "prism/model/fit_folder.h"

#include "prism/core/error.h"
#include "prism/data/catalog.h"
#include "prism/model/precision.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "prism-fit";
constexpr int kFitFolderVersion = 1;

nlohmann::json parse_record(const fs::path& path) {
  const auto bytes = read_file(path, 1 << 24);
  return nlohmann::json::parse(bytes.begin(), bytes.end());
}

}  // namespace

Provenance Provenance::of_model_file(const fs::path& model, std::string data, int64_t train_size,
                                     uint64_t subset_seed) {
  return {fs::absolute(model).string(), file_fingerprint(model), std::move(data), train_size, subset_seed,
          precision_name(current_precision())};
}

nlohmann::json Provenance::to_json() const {
  return {{"model", model},
          {"model_fingerprint", model_fingerprint},
          {"data", data},
          {"train_size", train_size},
          {"subset_seed", subset_seed},
          {"precision", precision}};
}

Provenance Provenance::from_json(const nlohmann::json& json) {
  return {json.at("model").get<std::string>(), json.at("model_fingerprint").get<std::string>(),
          json.at("data").get<std::string>(), json.at("train_size").get<int64_t>(),
          json.at("subset_seed").get<uint64_t>(),
          // Fits written before bf16 existed were float32.
          precision_name(parse_precision(json.value("precision", std::string("fp32"))))};
}

bool Provenance::operator==(const Provenance& other) const { return to_json() == other.to_json(); }

std::string Provenance::model_path(const std::string& model_override, const fs::path& fit_dir,
                                   const std::string& refit) const {
  const std::string path = model_override.empty() ? model : model_override;
  require(fs::exists(path), "the fit's model " + path + " is gone; give --model or re-run the fit");
  require(file_fingerprint(path) == model_fingerprint, "the model " + path + " is not the one the fit in " +
                                                           fit_dir.string() + " was built from; re-run " + refit +
                                                           " with this model");
  return path;
}

Dataset Provenance::training_data(int64_t expected_size, const fs::path& fit_dir) const {
  auto train = random_subset(load_dataset(data, Split::Train), train_size, subset_seed);
  require(train.size() == expected_size, "the training data " + data + " no longer matches the fit in " +
                                             fit_dir.string() + " (" + std::to_string(train.size()) +
                                             " samples, the fit has " + std::to_string(expected_size) +
                                             "); re-run the fit");
  return train;
}

FitFolderWriter::FitFolderWriter(const fs::path& dir, std::string record_name)
    : dir_(dir), record_name_(std::move(record_name)), lock_(dir) {
  std::error_code ignored;
  fs::remove(dir_ / record_name_, ignored);
}

nlohmann::json FitFolderWriter::finish(nlohmann::json record, const std::string& kind) const {
  record["format"] = kFormat;
  record["version"] = kFitFolderVersion;
  record["kind"] = kind;
  write_file_atomic(dir_ / record_name_, record.dump(2));
  return record;
}

nlohmann::json read_fit_record(const fs::path& dir, const std::string& kind, const std::string& refit,
                               const std::string& record_name) {
  const auto path = dir / record_name;
  require(fs::exists(path), dir.string() + " holds no finished fit (no " + record_name + "); run " + refit);
  nlohmann::json record;
  bool of_this_kind = false;
  try {
    record = parse_record(path);
    of_this_kind = record.at("format") == kFormat && record.at("version") == kFitFolderVersion && record.at("kind") == kind;
    if (of_this_kind) Provenance::from_json(record.at("provenance"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + " is corrupt (" + e.what() + "); re-run " + refit);
  } catch (const Error& e) {  // a field of the wrong value (an unknown precision)
    throw Error(path.string() + " is corrupt (" + e.what() + "); re-run " + refit);
  }
  require(of_this_kind, path.string() + " is not a " + kind + " fit of this prism version; re-run " + refit);
  return record;
}

bool fit_is_current(const fs::path& dir, const fs::path& model, const std::string& record_name) {
  try {
    const auto provenance = Provenance::from_json(parse_record(dir / record_name).at("provenance"));
    return provenance.model_fingerprint == file_fingerprint(model) &&
           provenance.precision == precision_name(current_precision());
  } catch (const std::exception&) {
    return false;  // missing or unreadable: not current
  }
}

}  // namespace prism
