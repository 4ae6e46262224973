// Fit folders: the record is the last file and the mark of a complete fit; an earlier record goes first; a
// record of another kind, format version or shape is refused with the command that redoes the fit; the
// provenance round-trips and checks the model file's bytes.
#include <gtest/gtest.h>

#include <fstream>

#include "prism/core/error.h"
#include "prism/model/fit_folder.h"
#include "test_util.h"

namespace prism {
namespace {
namespace fs = std::filesystem;

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

TEST(FitFolder, TheRecordIsWrittenLastAndAnEarlierOneGoesFirst) {
  test::TempDir dir;
  const auto fit = dir.path() / "fit";
  {
    const FitFolderWriter writer(fit);
    write_text(fit / "a.npy", "x");
    EXPECT_FALSE(fs::exists(fit / "fit.json"));  // unfinished: no record
    const auto record = writer.finish({{"answer", 42}, {"provenance", Provenance{"m", "f", "d", 3, 4}.to_json()}}, "test");
    EXPECT_EQ(record.at("kind"), "test");
  }
  const auto record = read_fit_record(fit, "test", "prism test fit");
  EXPECT_EQ(record.at("answer"), 42);
  EXPECT_EQ(record.at("format"), "prism-fit");
  EXPECT_EQ(Provenance::from_json(record.at("provenance")), (Provenance{"m", "f", "d", 3, 4}));
  {
    const FitFolderWriter again(fit);  // a new fit starts: the old record is gone until it finishes
    EXPECT_FALSE(fs::exists(fit / "fit.json"));
    EXPECT_THROW(FitFolderWriter{fit}, Error);  // the folder is locked while a fit writes it
  }
  try {
    read_fit_record(fit, "test", "prism test fit");
    FAIL() << "an unfinished fit was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no fit.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("prism test fit"), std::string::npos) << e.what();
  }
}

TEST(FitFolder, RefusesAnotherKindAnotherVersionAndACorruptRecord) {
  test::TempDir dir;
  const auto provenance = Provenance{"m", "f", "d", 0, 0}.to_json();
  FitFolderWriter(dir.path()).finish({{"provenance", provenance}}, "ebe-dnn");
  EXPECT_THROW(read_fit_record(dir.path(), "flint", "prism flint train"), Error);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"format": "prism-fit", "version": 2, "kind": "ebe-dnn", "provenance": {}})", "this prism version"},
      {R"({"format": "prism-ebe-fit", "version": 1})", "this prism version"},
      {R"({"format": "prism-fit", "version": 1, "kind": "ebe-dnn", "provenance": {"model": 3}})", "corrupt"},
      {R"({"format": "prism-fit", "version": 1, "kind": "ebe-dnn", "provenance": {"model": "m",
           "model_fingerprint": "f", "data": "d", "train_size": 0, "subset_seed": 0, "precision": "fp8"}})",
       "corrupt (unknown precision 'fp8'"},
      {R"({"format": "prism-fi)", "corrupt"}};
  for (const auto& [text, fragment] : bad) {
    write_text(dir.path() / "fit.json", text);
    try {
      read_fit_record(dir.path(), "ebe-dnn", "prism examples fit");
      FAIL() << text;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(fragment), std::string::npos) << message;
      EXPECT_NE(message.find("prism examples fit"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(FitFolder, TheProvenanceChecksTheModelFilesBytes) {
  test::TempDir dir;
  const auto model = dir.path() / "model.prism", fit = dir.path() / "fit";
  write_text(model, "weights");
  const auto provenance = Provenance::of_model_file(model, "fashion-mnist", 100, 7);
  EXPECT_EQ(provenance.model, fs::absolute(model).string());
  EXPECT_EQ(provenance.model_path("", fit, "prism influence fit"), provenance.model);
  FitFolderWriter(fit).finish({{"provenance", provenance.to_json()}}, "data-attribution");
  EXPECT_TRUE(fit_is_current(fit, model));
  write_text(model, "other weights");
  EXPECT_FALSE(fit_is_current(fit, model));
  EXPECT_FALSE(fit_is_current(dir.path() / "missing", model));
  try {
    provenance.model_path("", fit, "prism influence fit");
    FAIL() << "a changed model was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not the one the fit"), std::string::npos) << e.what();
  }
}

TEST(FitFolder, AFitRecordsThePrecisionOfItsPassesAndIsCurrentOnlyAtIt) {
  test::TempDir dir;
  const auto model = dir.path() / "model.prism", fit = dir.path() / "fit";
  write_text(model, "weights");
  {
    const PrecisionScope bf16(Precision::kBFloat16);
    const auto provenance = Provenance::of_model_file(model, "fashion-mnist", 100, 7);
    EXPECT_EQ(provenance.precision, "bf16");
    FitFolderWriter(fit).finish({{"provenance", provenance.to_json()}}, "data-attribution");
    EXPECT_TRUE(fit_is_current(fit, model));
    EXPECT_EQ(Provenance::from_json(read_fit_record(fit, "data-attribution", "x").at("provenance")), provenance);
  }
  EXPECT_EQ(current_precision(), Precision::kFloat32);  // the scope ended
  EXPECT_FALSE(fit_is_current(fit, model));              // a float32 run does not reuse the bf16 fit
  // A record from before precisions were recorded was float32.
  auto old = Provenance::of_model_file(model, "fashion-mnist", 100, 7).to_json();
  old.erase("precision");
  EXPECT_EQ(Provenance::from_json(old).precision, "fp32");
}

}  // namespace
}  // namespace prism
