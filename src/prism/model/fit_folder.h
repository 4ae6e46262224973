// Fit folders: the one shape of everything prism fits and keeps (a data attributor's state, EBE-DNN's embeddings
// and index, a FLINT interpreter). A writer locks the folder and removes the earlier record first; arrays and
// files follow; the record (fit.json, or flint.json for FLINT: format, version, kind, provenance and the fit's own
// fields) is written last, so a folder holding its record is complete and a crashed fit is never read as one.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

#include "prism/core/files.h"
#include "prism/data/dataset.h"

namespace prism {

// What a fit was built from: the model file and the training data, as the command line names them.
struct Provenance {
  std::string model;              // absolute path of the model file ("python" for a model handed over in memory)
  std::string model_fingerprint;  // file_fingerprint of the file (a fingerprint of the weights in memory)
  std::string data;               // the data set's spec (or name)
  int64_t train_size = 0;         // the training subset's size (0: all)
  uint64_t subset_seed = 0;       // the subset's seed
  std::string precision = "fp32";  // of the inference passes that built the fit's features (model/precision.h)

  // The provenance of a fit of the model file `model` on `data`'s training split (subset `train_size`, `seed`),
  // built at the current precision.
  static Provenance of_model_file(const std::filesystem::path& model, std::string data, int64_t train_size,
                                  uint64_t subset_seed);
  nlohmann::json to_json() const;
  // Throws nlohmann's exceptions on a missing or mistyped field (the reader reports the record as corrupt).
  static Provenance from_json(const nlohmann::json& json);
  bool operator==(const Provenance& other) const;

  // The model file to use: `model_override`, or the recorded one; refused if its bytes changed since the fit
  // (the message names `refit`, the command that redoes the fit in `fit_dir`).
  std::string model_path(const std::string& model_override, const std::filesystem::path& fit_dir,
                         const std::string& refit) const;
  // The training data again, refused if it no longer has the fit's `expected_size` samples.
  Dataset training_data(int64_t expected_size, const std::filesystem::path& fit_dir) const;
};

class FitFolderWriter {
 public:
  // Locks `dir` (making it) and removes an earlier record, so the folder never pairs an old record with new files.
  explicit FitFolderWriter(const std::filesystem::path& dir, std::string record_name = "fit.json");
  // Writes `record` with the format, its version and `kind` added, the last file of the fit; returns it.
  nlohmann::json finish(nlohmann::json record, const std::string& kind) const;

 private:
  std::filesystem::path dir_;
  std::string record_name_;
  DirectoryLock lock_;
};

// The record of the finished fit of `kind` in `dir`; refused, with `refit` (the command that redoes the fit) named,
// when it is missing, unreadable, or of another kind or format version.
nlohmann::json read_fit_record(const std::filesystem::path& dir, const std::string& kind, const std::string& refit,
                               const std::string& record_name = "fit.json");

// Whether `dir` holds a finished fit built from the model file `model` at the current precision (false when missing
// or unreadable).
bool fit_is_current(const std::filesystem::path& dir, const std::filesystem::path& model,
                    const std::string& record_name = "fit.json");

}  // namespace prism
