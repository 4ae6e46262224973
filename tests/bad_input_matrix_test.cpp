// The bad-input matrix: every prism command against missing, empty, truncated, corrupt and mismatched models,
// data, fit folders and option values. Each run must fail with a non-zero exit and exactly one line on stderr
// that names the problem (the bad file's name, or the option), write nothing into its output folder, and leave
// the output that was already there untouched.
#include "test_util.h"

namespace prism {
namespace {
namespace fs = std::filesystem;

struct Case {
  std::string arguments, fragment;
};

class BadInputMatrix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    test::build_once("bad-input-matrix", dir_->path(), [](const fs::path& folder) {
      const auto d = folder.string();
      ASSERT_EQ(test::run_prism("-q train --data fashion-mnist --model-arch cnn --epochs 1 --train-size 300 --test-size 50 "
                                "--out " + d + "/run").exit_code, 0);
      ASSERT_EQ(test::run_prism("-q train --data fashion-mnist --model-arch mlp --epochs 1 --train-size 300 --test-size 50 "
                                "--out " + d + "/other").exit_code, 0);
      ASSERT_EQ(test::run_prism("-q examples fit --model " + d + "/run/model.prism --train fashion-mnist "
                                "--train-size 200 --layer relu3 --out " + d + "/examples").exit_code, 0);
      ASSERT_EQ(test::run_prism("-q influence fit --model " + d + "/run/model.prism --train fashion-mnist "
                                "--train-size 200 --out " + d + "/dualview").exit_code, 0);
      ASSERT_EQ(test::run_prism("-q flint posthoc --model " + d + "/run/model.prism --data fashion-mnist --train-size 200 "
                                "--test-size 50 --attributes 4 --epochs 1 --out " + d + "/flint").exit_code, 0);
    });
    const auto subset = random_subset(test::fashion_test(), 20, 0);
    write_npy(dir_->path() / "images.npy", subset.images);
    write_npy(dir_->path() / "labels.npy", subset.labels);
    write_npy(dir_->path() / "labels-short.npy", subset.labels.narrow(0, 0, 19));
  }
  static void TearDownTestSuite() { delete dir_; }

  // Runs `c` with a fresh output folder holding earlier output, and checks the four promises.
  static void expect_refused(const Case& c) {
    const auto out = dir_->path() / "out";
    fs::remove_all(out);
    fs::create_directories(out);
    test::write_bytes(out / "earlier.json", {'{', '}'});
    std::string arguments = c.arguments;
    for (size_t at; (at = arguments.find("{out}")) != std::string::npos;) arguments.replace(at, 5, out.string());
    SCOPED_TRACE("prism " + arguments);
    const auto result = test::run_prism("-q " + arguments);
    test::expect_clean_failure(result, c.fragment);
    EXPECT_EQ(result.err.rfind("prism: error", 0), 0u) << result.err;
    std::vector<std::string> left;
    for (const auto& entry : fs::recursive_directory_iterator(out)) left.push_back(entry.path().filename().string());
    EXPECT_EQ(left, std::vector<std::string>{"earlier.json"}) << "the failed run wrote into its output folder";
    EXPECT_EQ(test::read_bytes(out / "earlier.json"), (std::vector<uint8_t>{'{', '}'}));
  }

  static test::TempDir* dir_;
};
test::TempDir* BadInputMatrix::dir_ = nullptr;

// Every command that reads a model, with the model file missing, empty, truncated, not a model at all, or a
// damaged TorchScript archive.
TEST_F(BadInputMatrix, BadModelFiles) {
  const auto d = dir_->path();
  const auto good = test::read_bytes(d / "run/model.prism");
  test::write_bytes(d / "empty.prism", {});
  test::write_bytes(d / "truncated.prism", std::vector<uint8_t>(good.begin(), good.begin() + good.size() / 2));
  std::vector<uint8_t> garbage(4000);
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(i * 7919 % 251);
  test::write_bytes(d / "garbage.prism", garbage);
  // A TorchScript archive on which LibTorch's loader ran out of memory before prism checked its CRC-32s.
  fs::copy_file(PRISM_SOURCE_DIR "/fuzz/regressions/torchscript/huge-allocation-1.pt", d / "damaged.pt",
                fs::copy_options::overwrite_existing);
  const std::vector<std::string> commands = {
      "predict --model {model} --data fashion-mnist --test-size 10 --out {out}",
      "layers {model}",
      "attribute --model {model} --data fashion-mnist --indices 0:2 --method saliency --out {out}",
      "examples fit --model {model} --train fashion-mnist --train-size 50 --layer relu3 --out {out}",
      "influence fit --model {model} --train fashion-mnist --train-size 50 --out {out}",
      "evaluate sanity --model {model} --data fashion-mnist --samples 2 --methods saliency --out {out}",
      "evaluate perturbation --model {model} --data fashion-mnist --samples 2 --methods saliency --out {out}",
      "evaluate measures --model {model} --data fashion-mnist --samples 2 --methods saliency --out {out}",
      "evaluate roar --model {model} --data fashion-mnist --train-size 50 --test-size 10 --methods saliency --out {out}",
      "report --model {model} --data fashion-mnist --indices 0:1 --out {out}/report.html",
      "flint posthoc --model {model} --data fashion-mnist --train-size 50 --test-size 10 --epochs 1 --out {out}"};
  for (const char* bad : {"missing.prism", "empty.prism", "truncated.prism", "garbage.prism", "damaged.pt"})
    for (auto command : commands) {
      command.replace(command.find("{model}"), 7, (d / bad).string());
      expect_refused({command, bad});
    }
}

// Every command that reads a data set, given NPY images that are missing, empty, truncated, not NPY, or
// labels that do not match them.
TEST_F(BadInputMatrix, BadDataFiles) {
  const auto d = dir_->path();
  const auto good = test::read_bytes(d / "images.npy");
  test::write_bytes(d / "empty.npy", {});
  test::write_bytes(d / "truncated.npy", std::vector<uint8_t>(good.begin(), good.begin() + good.size() - 100));
  test::write_bytes(d / "garbage.npy", std::vector<uint8_t>(300, 'x'));
  const auto model = (d / "run/model.prism").string();
  const std::vector<std::string> commands = {
      "train --data {data} --model-arch mlp --epochs 1 --out {out}",
      "predict --model " + model + " --data {data} --out {out}",
      "attribute --model " + model + " --data {data} --indices 0:2 --method saliency --out {out}",
      "examples fit --model " + model + " --train {data} --layer relu3 --out {out}",
      "influence fit --model " + model + " --train {data} --out {out}",
      "evaluate perturbation --model " + model + " --data {data} --samples 2 --methods saliency --out {out}",
      "report --model " + model + " --data {data} --indices 0:1 --out {out}/report.html",
      "flint train --data {data} --epochs 1 --out {out}",
      "flint posthoc --model " + model + " --data {data} --epochs 1 --out {out}"};
  const auto labels = (d / "labels.npy").string();
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"npy:" + (d / "missing.npy").string() + "," + labels, "missing.npy"},
      {"npy:" + (d / "empty.npy").string() + "," + labels, "empty.npy"},
      {"npy:" + (d / "truncated.npy").string() + "," + labels, "truncated.npy"},
      {"npy:" + (d / "garbage.npy").string() + "," + labels, "garbage.npy"},
      {"npy:" + (d / "images.npy").string() + "," + (d / "labels-short.npy").string(), "20 images but 19 labels"}};
  for (const auto& [data, fragment] : variants)
    for (auto command : commands) {
      command.replace(command.find("{data}"), 6, data);
      expect_refused({command, fragment});
    }
}

// Every command that reads a fit folder, given one that is missing, empty, damaged, or built from another model.
TEST_F(BadInputMatrix, BadFitFolders) {
  const auto d = dir_->path();
  fs::create_directories(d / "empty-fit");
  fs::copy(d / "dualview", d / "damaged-dualview", fs::copy_options::recursive);
  const auto alpha = test::read_bytes(d / "dualview/support_alpha.npy");
  test::write_bytes(d / "damaged-dualview/support_alpha.npy", std::vector<uint8_t>(alpha.begin(), alpha.end() - 8));
  fs::copy(d / "examples", d / "damaged-examples", fs::copy_options::recursive);
  test::write_bytes(d / "damaged-examples/fit.json", {'{', '"', 'x'});
  fs::copy(d / "flint", d / "damaged-flint", fs::copy_options::recursive);
  const auto head = test::read_bytes(d / "flint/interpreter/head.weight.npy");
  test::write_bytes(d / "damaged-flint/interpreter/head.weight.npy", std::vector<uint8_t>(head.begin(), head.end() - 8));
  const auto model = (d / "run/model.prism").string(), other = (d / "other/model.prism").string();
  const std::vector<Case> cases = {
      {"examples explain --fit " + (d / "missing-fit").string() + " --data fashion-mnist --out {out}", "missing-fit"},
      {"examples explain --fit " + (d / "empty-fit").string() + " --data fashion-mnist --out {out}", "empty-fit"},
      {"examples explain --fit " + (d / "damaged-examples").string() + " --data fashion-mnist --out {out}", "damaged-examples"},
      {"examples explain --fit " + (d / "examples").string() + " --model " + other + " --data fashion-mnist --out {out}",
       "is not the one the fit"},
      {"influence explain --fit " + (d / "missing-fit").string() + " --data fashion-mnist --out {out}", "missing-fit"},
      {"influence explain --fit " + (d / "empty-fit").string() + " --data fashion-mnist --out {out}", "empty-fit"},
      {"influence explain --fit " + (d / "damaged-dualview").string() + " --data fashion-mnist --out {out}", "support_alpha"},
      {"influence explain --fit " + (d / "dualview").string() + " --model " + other + " --data fashion-mnist --out {out}",
       "is not the one the fit"},
      {"influence self --fit " + (d / "damaged-dualview").string() + " --out {out}", "support_alpha"},
      {"report --model " + model + " --data fashion-mnist --examples " + (d / "damaged-examples").string() +
           " --out {out}/report.html", "damaged-examples"},
      {"report --model " + model + " --data fashion-mnist --influence " + (d / "empty-fit").string() +
           " --out {out}/report.html", "empty-fit"},
      {"flint evaluate --flint " + (d / "missing-fit").string() + " --data fashion-mnist --out {out}", "missing-fit"},
      {"flint evaluate --flint " + (d / "empty-fit").string() + " --data fashion-mnist --out {out}", "empty-fit"},
      {"flint interpret --flint " + (d / "damaged-flint").string() + " --data fashion-mnist --out {out}",
       "head.weight.npy"},
      {"flint interpret --flint " + (d / "flint").string() + " --model " + other + " --data fashion-mnist --out {out}",
       "is not the one"},
  };
  for (const auto& c : cases) expect_refused(c);
}

// Option values out of range, for each command.
TEST_F(BadInputMatrix, BadOptionValues) {
  const auto d = dir_->path();
  const auto model = (d / "run/model.prism").string();
  const std::vector<Case> cases = {
      {"train --data fashion-mnist --model-arch cnn --lr -1 --train-size 10 --out {out}", "lr must be positive"},
      {"train --data fashion-mnist --model-arch cnn --optimizer rmsprop --train-size 10 --out {out}", "rmsprop"},
      {"predict --model " + model + " --data fashion-mnist --test-size 10 --batch-size 0 --out {out}", "batch"},
      {"attribute --model " + model + " --data fashion-mnist --method integrated-gradients --steps 0 --out {out}", "steps"},
      {"attribute --model " + model + " --data fashion-mnist --method saliency --reduce median --out {out}", "median"},
      {"examples explain --fit " + (d / "examples").string() + " --data fashion-mnist --k 0 --out {out}", "k"},
      {"examples explain --fit " + (d / "examples").string() + " --data fashion-mnist --k 100000 --out {out}", "100000"},
      {"influence fit --model " + model + " --train fashion-mnist --train-size 50 --C 0 --out {out}", "C"},
      {"influence explain --fit " + (d / "dualview").string() + " --data fashion-mnist --top 0 --out {out}", "--top"},
      {"evaluate sanity --model " + model + " --data fashion-mnist --samples 0 --out {out}", "--samples"},
      {"evaluate perturbation --model " + model + " --data fashion-mnist --percentages 50,101 --out {out}", "[0, 100]"},
      {"evaluate roar --model " + model + " --data fashion-mnist --fractions 0 --out {out}", "(0, 100)"},
      {"evaluate roar --model " + model + " --data fashion-mnist --seeds 0 --out {out}", "seed"},
      {"evaluate measures --model " + model + " --data fashion-mnist --faithfulness-subset 1.5 --out {out}", "subset"},
      {"evaluate data-attribution --data fashion-mnist --metrics accuracy --out {out}", "accuracy"},
      {"evaluate data-attribution --data fashion-mnist --flip-fraction 1 --metrics mislabel --out {out}", "flipped share"},
      {"report --model " + model + " --data fashion-mnist --scale 0 --out {out}/report.html", "--scale"},
      {"flint train --data fashion-mnist --train-size 50 --attributes 1 --out {out}", "attributes"},
      {"flint train --data fashion-mnist --train-size 50 --batch-size 1 --out {out}", "batch_size must be at least 2"},
      {"flint posthoc --model " + model + " --data fashion-mnist --train-size 50 --layers fc9 --out {out}", "fc9"},
      {"flint interpret --flint " + (d / "flint").string() + " --data fashion-mnist --tau 1 --out {out}", "--tau"},
      {"flint evaluate --flint " + (d / "flint").string() + " --data fashion-mnist --taus 0.5 --out {out}", "--taus"},
  };
  for (const auto& c : cases) expect_refused(c);
}

}  // namespace
}  // namespace prism
