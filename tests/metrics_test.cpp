// The metric table: each metric's direction as its paper states it, names unique within a protocol, the
// data-attribution evaluation taking exactly its protocol's metrics, and the README listing them all.
#include <gtest/gtest.h>

#include <set>

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/evaluate/data/data_attribution_evaluation.h"
#include "prism/evaluate/metrics.h"

namespace prism {
namespace {

TEST(Metrics, HaveTheDirectionsTheirPapersGive) {
  const std::vector<std::tuple<std::string, std::string, std::string>> known = {
      {"pixel perturbation", "aopc_morf", "higher"},  // Samek et al. 2017: a faithful map drops the score fast
      {"pixel perturbation", "aopc_lerf", "lower"},
      {"sanity", "spearman", "lower"},  // Adebayo et al. 2018: maps must change when the weights do
      {"roar", "roar_accuracy", "lower"},  // Hooker et al. 2019
      {"roar", "kar_accuracy", "higher"},
      {"map measures", "complexity", "lower"},
      {"map measures", "faithfulness", "higher"},
      {"data attribution", "mislabel", "higher"},
      {"data attribution", "sparsity", "lower"},
      {"data attribution", "model-randomization", "lower"},
      {"flint", "fidelity", "higher"}};
  for (const auto& [protocol, name, better] : known) EXPECT_EQ(find_metric(protocol, name).better, better) << name;
  EXPECT_EQ(find_metric("roar", "roar_accuracy").arrow(), "↓");
  EXPECT_EQ(metric_directions("pixel perturbation").at("morf_minus_lerf"), "higher");
}

TEST(Metrics, NamesAreUniqueWithinAProtocolAndUnknownOnesAreListed) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& metric : all_metrics()) {
    EXPECT_TRUE(seen.insert({metric.protocol, metric.name}).second) << metric.name;
    EXPECT_TRUE(metric.better == "higher" || metric.better == "lower") << metric.name;
    EXPECT_FALSE(metric.measures.empty()) << metric.name;
  }
  try {
    find_metric("sanity", "accuracy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("spearman, spearman_abs, ssim, hog_pearson"), std::string::npos) << e.what();
  }
  std::vector<std::string> data;
  for (const auto& metric : protocol_metrics("data attribution")) data.push_back(metric.name);
  EXPECT_EQ(data_metric_names(), data);
}

TEST(Metrics, TheReadmeListsEachWithItsDirectionAndMeaning) {
  const auto readme = read_file(PRISM_SOURCE_DIR "/README.md", 1 << 20);
  const std::string text(readme.begin(), readme.end());
  for (const auto& metric : all_metrics()) {
    std::string measures;
    for (const char c : metric.measures) measures += c == '|' ? std::string("\\|") : std::string(1, c);
    const auto row = "| " + metric.protocol + " | `" + metric.name + "` | " + metric.better + " " + metric.arrow() +
                     " | " + measures + " |";
    EXPECT_NE(text.find(row), std::string::npos) << "README.md lacks the row " << row;
  }
}

}  // namespace
}  // namespace prism
