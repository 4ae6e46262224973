// The HTML report, rendered for a small model with every family and an evaluation, and checked in headless
// Chromium (installed by scripts/setup): it loads without console messages, every image decodes, nothing is
// wider than a phone's screen, each section is there, a screenshot is written, and the page stays small.
#include <cstdlib>
#include <fstream>

#include "test_util.h"

namespace prism {
namespace {

using test::run_prism;

class Report : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    test::build_once("report", dir_->path(), [](const std::filesystem::path& folder) {
      const auto d = folder.string();
      const auto data = " --train fashion-mnist --train-size 1000";
      ASSERT_EQ(run_prism("-q train --data fashion-mnist --model-arch cnn --epochs 1 --train-size 2000 "
                          "--test-size 200 --out " + d + "/run").exit_code, 0);
      ASSERT_EQ(run_prism("-q examples fit --model " + d + "/run/model.prism --layer relu3" + std::string(data) +
                          " --out " + d + "/examples").exit_code, 0);
      ASSERT_EQ(run_prism("-q influence fit --model " + d + "/run/model.prism" + std::string(data) + " --out " + d +
                          "/dualview").exit_code, 0);
      ASSERT_EQ(run_prism("-q evaluate perturbation --model " + d + "/run/model.prism --data fashion-mnist "
                          "--samples 16 --methods saliency --percentages 0,10,50 --out " + d + "/perturbation").exit_code, 0);
      ASSERT_EQ(run_prism("-q flint posthoc --model " + d + "/run/model.prism --data fashion-mnist --train-size 1000 "
                          "--test-size 100 --attributes 6 --epochs 1 --batch-size 32 --beta-from 1 --out " + d + "/flint")
                    .exit_code, 0);
      ASSERT_EQ(run_prism("-q concepts tcav --model " + d + "/run/model.prism --data fashion-mnist --train-size 1000 "
                          "--test-size 200 --concepts mark,class:Trouser --flint " + d + "/flint --random-sets 3 "
                          "--examples-per-set 20 --inputs-per-output 10 --out " + d + "/tcav").exit_code, 0);
    });
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string base() {
    const auto d = dir_->path().string();
    return "-q report --model " + d + "/run/model.prism --data fashion-mnist --examples " + d + "/examples --influence " +
           d + "/dualview --flint " + d + "/flint --flint-samples 300 --tcav " + d + "/tcav ";
  }
  static test::TempDir* dir_;
};
test::TempDir* Report::dir_ = nullptr;

TEST_F(Report, LoadsCleanlyInHeadlessChromiumWithEverySection) {
  const auto page = dir_->path() / "page/report.html";
  const auto result = run_prism(base() + "--indices 0:3 --evaluations " + (dir_->path() / "perturbation").string() +
                                " --out " + page.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto html = test::read_text(page);
  EXPECT_LT(html.size(), 2u << 20) << "three samples should stay under 2 MiB";
  for (const auto* section : {"id=\"sample-0\"", "id=\"sample-2\"", "Which pixels", "pruned-gradient",
                              "Which training examples", "Proponents (dualview)", "Opponents (dualview)", "XDA",
                              "id=\"evaluation-perturbation\"", "AOPC", "<svg",
                              "Which concepts", "id=\"flint-global\"", "Which human concepts: TCAV scores for",
                              "id=\"tcav-flint\""})
    EXPECT_NE(html.find(section), std::string::npos) << section;
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);  // self-contained: nothing fetched

  // A phone-sized window: the page's own check finds every image decoded and nothing wider than the screen.
  const auto dom = test::chromium(page, 390, "--dump-dom");
  ASSERT_EQ(dom.exit_code, 0) << "is chromium installed? run scripts/setup\n" << dom.err;
  EXPECT_NE(dom.out.find("data-broken-images=\"0\""), std::string::npos) << dom.out.substr(0, 2000);
  EXPECT_NE(dom.out.find("data-overflow=\"no\""), std::string::npos);
  EXPECT_EQ(dom.out.find("data-images=\"0\""), std::string::npos);
  EXPECT_EQ(dom.err.find("CONSOLE"), std::string::npos) << dom.err;  // no console messages or script errors

  const auto shot = dir_->path() / "page/screenshot.png";
  const auto screenshot = test::chromium(page, 1280, "--screenshot=" + shot.string());
  ASSERT_EQ(screenshot.exit_code, 0) << screenshot.err;
  EXPECT_EQ(read_image(shot, 3).size(2), 1280);
}

TEST_F(Report, RefusesAFitOfAnotherModelOrDataAndAnIndexOutsideTheData) {
  const auto d = dir_->path().string();
  const auto out = dir_->path() / "bad/report.html";
  ASSERT_EQ(run_prism("-q train --data fashion-mnist --model-arch mlp --width 32 --epochs 1 --train-size 500 "
                      "--test-size 100 --out " + d + "/other").exit_code, 0);
  test::expect_clean_failure(run_prism("-q report --model " + d + "/other/model.prism --data fashion-mnist --examples " +
                                       d + "/examples --out " + out.string()),
                             "is not the one the fit");
  test::expect_clean_failure(run_prism("-q report --model " + d + "/run/model.prism --data idx:" + fashion_mnist_dir() +
                                       " --influence " + d + "/dualview --out " + out.string()),
                             "built on the data set 'fashion-mnist'");
  test::expect_clean_failure(run_prism(base() + "--indices 9990:10010 --out " + out.string()), "outside the data");
  test::expect_clean_failure(run_prism(base() + "--evaluations " + d + "/run/checkpoints --out " + out.string()),
                             "holds no results");
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace prism
