// Classifiers of table rows [B, F]: the CSV data set and its errors, attributions with known answers on scripted
// linear and ReLU models, and a built-in MLP trained and explained end to end on a real table.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "prism/prism.h"
#include "test_util.h"

namespace prism {
namespace {
namespace fs = std::filesystem;

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

using test::error_of;

TEST(CsvData, ReadsNamedColumnsClassNamesAndSplitsByAFixedSeed) {
  test::TempDir dir;
  std::string table = "age,\"income, net\",grade,outcome\n";
  for (int i = 0; i < 20; ++i)
    table += std::to_string(20 + i) + "," + std::to_string(1000 * i) + "," + (i % 2 ? "yes" : "no") + ",\"" +
             std::to_string(i % 3) + "\"\n";
  write_text(dir / "t.csv", table);
  // The label column named; the others are features, and `grade` is text.
  EXPECT_NE(error_of([&] { load_dataset("csv:" + (dir / "t.csv").string() + ",label=outcome", Split::Train); })
                .find("column 'grade': 'no' is not a number"),
            std::string::npos);
  // Labelled by `grade` (the class names no/yes), the rest numeric.
  const auto spec = "csv:" + (dir / "t.csv").string() + ",label=grade";
  const auto train = load_dataset(spec, Split::Train), test = load_dataset(spec, Split::Test);
  EXPECT_EQ(train.sample_shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(train.feature_names, (std::vector<std::string>{"age", "income, net", "outcome"}));
  EXPECT_EQ(train.class_names, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(train.size(), 16);
  EXPECT_EQ(test.size(), 4);
  // Every row once, in one split or the other; each row's label is its age's parity.
  const auto ages = torch::cat({train.images.select(1, 0), test.images.select(1, 0)});
  EXPECT_TRUE(torch::equal(std::get<0>(ages.sort()), torch::arange(20, 40, torch::kFloat32)));
  const auto labels = torch::cat({train.labels, test.labels});
  EXPECT_TRUE(torch::equal(labels, ages.to(torch::kInt64).remainder(2)));
  // The standardisation is the training rows', for both splits.
  const auto mean = train.images.mean(0), std = train.images.std(0);
  for (int f = 0; f < 3; ++f) {
    EXPECT_NEAR(train.normalization.mean[f], mean[f].item<double>(), 1e-3 * std::abs(mean[f].item<double>()) + 1e-6);
    EXPECT_NEAR(train.normalization.std[f], std[f].item<double>(), 1e-3 * std[f].item<double>());
  }
  EXPECT_EQ(test.normalization.mean, train.normalization.mean);
  EXPECT_TRUE(torch::equal(load_dataset(spec, Split::Test).images, test.images));  // the split is fixed
}

TEST(CsvData, ATextCellAMissingValueAndARaggedRowEachGiveOneClearError) {
  test::TempDir dir;
  const auto header = std::string("a,b,label\n");
  write_text(dir / "text.csv", header + "1,2,0\n3,x7,1\n1,1,0\n2,2,1\n3,3,0\n");
  write_text(dir / "missing.csv", header + "1,2,0\n3,,1\n1,1,0\n2,2,1\n3,3,0\n");
  write_text(dir / "ragged.csv", header + "1,2,0\n3,4\n1,1,0\n2,2,1\n3,3,0\n");
  write_text(dir / "quote.csv", header + "1,2,0\n\"3,4,1\n");
  const auto load = [&](const std::string& name) {
    return error_of([&] { load_dataset("csv:" + (dir / name).string(), Split::Train); });
  };
  EXPECT_NE(load("text.csv").find("text.csv line 3, column 'b': 'x7' is not a number"), std::string::npos);
  EXPECT_NE(load("missing.csv").find("missing.csv line 3, column 'b': missing value"), std::string::npos);
  EXPECT_NE(load("ragged.csv").find("ragged.csv line 3 has 2 cells but the header has 3"), std::string::npos);
  EXPECT_NE(load("quote.csv").find("not valid CSV"), std::string::npos);
  EXPECT_NE(load("absent.csv").find("cannot be read"), std::string::npos);
  EXPECT_NE(error_of([&] { load_dataset("csv:" + (dir / "text.csv").string() + ",label=nope", Split::Train); })
                .find("no column 'nope'"),
            std::string::npos);
  // Through the CLI: one line, non-zero exit, nothing written.
  for (const auto* name : {"text.csv", "missing.csv", "ragged.csv"}) {
    const auto result = test::run_prism("-q train --data csv:" + (dir / name).string() + " --epochs 1 --out " +
                                        (dir / "run").string());
    test::expect_clean_failure(result, name);
    EXPECT_FALSE(fs::exists(dir / "run" / "model.prism"));
  }
}

torch::Tensor attribute(const std::string& method, const nlohmann::json& options, Network& network,
                        const torch::Tensor& x, const torch::Tensor& targets) {
  return make_feature_attributor(method, options)->attribute(network, x, targets);
}

TEST(TabularAttribution, OnALogisticRegressionIgAndGradientTimesInputAreTheWeightTimesTheInput) {
  auto network = load_network(test::fixtures() / "logistic.pt", {8});
  const auto x = read_npy(test::fixtures() / "logistic.input.npy");  // [5, 8]
  const auto targets = torch::tensor({0, 1, 2, 0, 1}, torch::kInt64);
  const auto weights = read_npy(test::fixtures() / "logistic.weight.npy").index_select(0, targets);
  const auto expected = weights * x;
  EXPECT_TRUE(torch::allclose(network->forward(x), read_npy(test::fixtures() / "logistic.logits.npy"), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(attribute("gradient-x-input", nlohmann::json::object(), *network, x, targets), expected, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(attribute("integrated-gradients", {{"baseline", "zeros"}}, *network, x, targets),
                              expected, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(attribute("saliency", nlohmann::json::object(), *network, x, targets),  // the plain gradient
                              weights, 1e-5, 1e-6));
  // Occlusion covers each feature alone: with a zero fill, f_c(x) - f_c(x without x_i) = w_ci x_i.
  EXPECT_TRUE(torch::allclose(attribute("occlusion", {{"fill", 0.0}}, *network, x, targets), expected, 1e-4, 1e-5));
  // The superpixel methods take each feature as a segment. On a linear model the Shapley values from a zero baseline
  // are w_c ⊙ x exactly (KernelSHAP enumerates all 254 coalitions of 8 features), and so is feature ablation.
  EXPECT_TRUE(torch::allclose(attribute("kernel-shap", nlohmann::json::object(), *network, x, targets), expected, 1e-3, 1e-4));
  EXPECT_TRUE(torch::allclose(attribute("feature-ablation", nlohmann::json::object(), *network, x, targets), expected,
                              1e-4, 1e-5));
  // LIME without its ridge fits the linear score in the coalitions exactly: its coefficients are w_c ⊙ x too.
  EXPECT_TRUE(torch::allclose(attribute("lime", {{"ridge", 0.0}}, *network, x, targets), expected, 1e-3, 1e-4));
  // Methods that need an image's grid refuse in one line that says why.
  for (const auto* method : {"grad-cam", "rise"})
    EXPECT_NE(error_of([&] { attribute(method, nlohmann::json::object(), *network, x, targets); }).find("table rows"),
              std::string::npos) << method;
  // A sample of another width is refused, naming the shape the model takes.
  EXPECT_NE(error_of([&] { attribute("saliency", nlohmann::json::object(), *network, x.narrow(1, 0, 7), targets); }).find("[B, 8]"),
            std::string::npos);
}

TEST(TabularAttribution, LrpZeroOnABiasFreeReluMlpIsGradientTimesInputAndConservesTheLogit) {
  auto network = load_network(test::fixtures() / "relu_mlp_no_bias.pt", {8});
  const auto x = read_npy(test::fixtures() / "relu_mlp_no_bias.input.npy");
  const auto targets = torch::tensor({2, 1, 0, 2, 1}, torch::kInt64);
  const auto lrp = attribute("lrp", {{"composite", "epsilon"}, {"epsilon", 0.0}}, *network, x, targets);
  EXPECT_TRUE(torch::allclose(lrp, attribute("gradient-x-input", nlohmann::json::object(), *network, x, targets), 1e-4, 1e-6));
  const auto logits = network->forward(x).gather(1, targets.view({-1, 1})).squeeze(1).detach();
  EXPECT_TRUE(torch::allclose(lrp.sum(1), logits, 1e-4, 1e-5));
}

// The Wisconsin breast-cancer table (569 rows, 30 features) as a user would give it: trained with no option but
// the data, explained by the CSV's own feature names.
TEST(TabularCommands, AnMlpTrainsOnBreastCancerAndItsPredictionsAreExplained) {
  const auto table = test::fixtures() / "tables" / "breast_cancer.csv";
  if (!fs::exists(table)) GTEST_SKIP() << "python3-sklearn did not write " << table;
  test::TempDir dir;
  const auto data = " --data csv:" + table.string();
  const auto trained = test::run_prism("train" + data + " --epochs 30 --out " + (dir / "run").string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto history = nlohmann::json::parse(std::ifstream(dir / "run" / "history.json"));
  EXPECT_GE(history.at("epochs").back().at("test_accuracy").get<double>(), 0.95);
  const auto model = (dir / "run" / "model.prism").string();
  EXPECT_EQ(load_network(model)->architecture(), "mlp");

  const auto out = dir / "ig";
  const auto attributed = test::run_prism("-q attribute --model " + model + data +
                                          " --indices 0:4 --method integrated-gradients --baseline mean --steps 200 --out " +
                                          out.string());
  ASSERT_EQ(attributed.exit_code, 0) << attributed.err;
  const auto maps = read_npy(out / "attributions.npy");
  EXPECT_EQ(maps.sizes(), (std::vector<int64_t>{4, 30}));
  std::ifstream csv(out / "attributions.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("index,target,mean radius,mean texture,", 0), 0u) << header;
  EXPECT_TRUE(fs::exists(out / "bars" / "000-bars.png"));
  // Completeness against the training mean: the attributions sum to f(x) - f(mean).
  const auto summary = nlohmann::json::parse(std::ifstream(out / "summary.json"));
  for (const auto& sample : summary["methods"][0]["samples"])
    EXPECT_LT(std::abs(sample.at("completeness_error").get<double>()), 1e-2);

  // KernelSHAP over the 30 features, a removed feature set to its training mean: Σ φ = f_c(x) − f_c(mean) (the
  // efficiency constraint, exact), and the 30 values are not all one.
  {
    auto network = load_network(model);
    const auto x = load_dataset("csv:" + table.string(), Split::Test).images.narrow(0, 0, 3);
    const auto targets = network->forward(x).argmax(1);
    const auto shap = attribute("kernel-shap", {{"samples", 500}}, *network, x, targets);
    const auto mean = torch::tensor(network->normalization().mean).unsqueeze(0).expand_as(x);
    const auto score = [&](const torch::Tensor& in) {
      return network->forward(in).gather(1, targets.view({-1, 1})).squeeze(1).detach();
    };
    EXPECT_TRUE(torch::allclose(shap.sum(1), score(x) - score(mean), 1e-3, 1e-3));
    EXPECT_GT(shap.std(1).min().item<double>(), 0);
  }

  // Examples (EBE-DNN) and influence (DualView) as table rows: the test row, then its examples.
  const auto d = dir.path().string();
  ASSERT_EQ(test::run_prism("-q examples fit --model " + model + " --train csv:" + table.string() + " --out " + d +
                            "/examples").exit_code, 0);
  ASSERT_EQ(test::run_prism("-q examples explain --fit " + d + "/examples" + data + " --indices 0:2 --out " + d +
                            "/examples-out").exit_code, 0);
  const auto knn = nlohmann::json::parse(std::ifstream(dir / "examples-out" / "explanations.json"));
  double weights = 0;
  for (const auto& example : knn["samples"][0]["examples"]) weights += example.at("weight").get<double>();
  EXPECT_NEAR(weights, 1.0, 1e-5);
  std::ifstream rows(dir / "examples-out" / "examples-000.csv");
  std::string first, second;
  std::getline(rows, first), std::getline(rows, second);
  EXPECT_EQ(first.rfind("role,index,weight,class,differs_most,mean radius,", 0), 0u) << first;
  EXPECT_EQ(second.rfind("test,0,,", 0), 0u) << second;
  ASSERT_EQ(test::run_prism("-q influence fit --model " + model + " --train csv:" + table.string() + " --out " + d +
                            "/dualview").exit_code, 0);
  ASSERT_EQ(test::run_prism("-q influence explain --fit " + d + "/dualview" + data + " --indices 0:2 --out " + d +
                            "/influence-out").exit_code, 0);
  EXPECT_TRUE(fs::exists(dir / "influence-out" / "influence-001.csv"));

  // FLINT post hoc on the MLP: the decoder reconstructs the standardised row; each active attribute is described by
  // the features of its top training rows.
  ASSERT_EQ(test::run_prism("-q flint posthoc --model " + model + data + " --epochs 3 --out " + d + "/flint").exit_code, 0);
  // Reconstructing standardised rows (variance 1 per feature), the input-fidelity loss stays near 1; in raw units
  // the areas (hundreds to thousands) would put it in the thousands.
  const auto progress = nlohmann::json::parse(std::ifstream(dir / "flint" / "progress.json"));
  for (const auto& epoch : progress.at("epochs")) EXPECT_LT(epoch.at("input_fidelity").get<double>(), 2.0);
  ASSERT_EQ(test::run_prism("-q flint interpret --flint " + d + "/flint" + data + " --indices 0:2 --out " + d +
                            "/flint-out").exit_code, 0);
  const auto interpretation = nlohmann::json::parse(std::ifstream(dir / "flint-out" / "interpretation.json"));
  int active = 0;
  for (const auto& attribute : interpretation["attributes"])
    if (attribute.contains("strongest_features")) {
      ++active;
      EXPECT_EQ(attribute["strongest_features"].size(), 3u);
    }
  EXPECT_GE(active, 1);

  // Pixel perturbation by feature, with the defaults that apply to tables (no Grad-CAM).
  const auto perturbation = test::run_prism("-q evaluate perturbation --model " + model + data +
                                            " --samples 20 --percentages 0,20,50 --out " + d + "/perturbation");
  ASSERT_EQ(perturbation.exit_code, 0) << perturbation.err;
  EXPECT_EQ(perturbation.out.find("grad-cam"), std::string::npos);
  EXPECT_NE(perturbation.out.find("integrated-gradients"), std::string::npos);
  test::expect_clean_failure(test::run_prism("-q evaluate road --model " + model + data + " --samples 5 --out " + d + "/road"),
                             "table rows");

  // The report on table rows: the row's values, bar charts per method, examples and proponents as table rows,
  // FLINT's attributes by their features, the methods' mean |attribution|, and the evaluation; it loads cleanly.
  const auto page = dir / "page" / "report.html";
  const auto report = test::run_prism("-q report --model " + model + data + " --indices 0:2 --examples " + d +
                                      "/examples --k 3 --influence " + d + "/dualview --top 2 --flint " + d +
                                      "/flint --evaluations " + d + "/perturbation --out " + page.string());
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const auto html = test::read_text(page);
  for (const auto* part : {"<th>mean radius</th>", "Which features: feature attribution", "<td>neighbour</td>",
                           "<td>proponent</td>", "<td>opponent</td>", "Which concepts: FLINT",
                           "id=\"features-overall\"", "Feature perturbation"})
    EXPECT_NE(html.find(part), std::string::npos) << part;
  EXPECT_EQ(html.find("grad-cam"), std::string::npos);  // the CAMs need a convolutional map
  const auto dom = test::chromium(page, 390, "--dump-dom");
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  EXPECT_NE(dom.out.find("data-broken-images=\"0\""), std::string::npos);
  EXPECT_NE(dom.out.find("data-overflow=\"no\""), std::string::npos);  // wide tables scroll in their own box
}

// Sanity checks, ROAR, the single-map measures and the data-attribution metrics on table rows: what is defined for a
// vector of features runs (HOG and the shortcut's image mark are left out), and every number is finite.
TEST(TabularCommands, SanityRoarMapMeasuresAndDataMetricsRunOnTableRows) {
  const auto table = test::fixtures() / "tables" / "breast_cancer.csv";
  if (!fs::exists(table)) GTEST_SKIP() << "python3-sklearn did not write " << table;
  test::TempDir dir;
  const auto d = dir.path().string();
  const auto data = " --data csv:" + table.string();
  ASSERT_EQ(test::run_prism("-q train" + data + " --epochs 10 --out " + d + "/run").exit_code, 0);
  const auto model = " --model " + d + "/run/model.prism" + data;

  const auto sanity = test::run_prism("-q evaluate sanity" + model + " --samples 8 --methods saliency,integrated-gradients "
                                      "--out " + d + "/sanity");
  ASSERT_EQ(sanity.exit_code, 0) << sanity.err;
  const auto curves = nlohmann::json::parse(std::ifstream(dir / "sanity" / "sanity.json"));
  for (const auto& method : curves.at("methods")) {
    EXPECT_FALSE(method.contains("hog_pearson"));
    EXPECT_DOUBLE_EQ(method.at("spearman")[0].get<double>(), 1.0);  // the original map against itself
    for (const auto* measure : {"spearman", "spearman_abs", "ssim"})
      for (const auto& value : method.at(measure)) EXPECT_TRUE(std::isfinite(value.get<double>())) << measure;
    EXPECT_LT(method.at("spearman").back().get<double>(), 0.9);  // randomising every layer changes the map
  }

  const auto roar = test::run_prism("-q evaluate roar" + model + " --methods saliency --no-random --fractions 30 "
                                    "--epochs 2 --out " + d + "/roar");
  ASSERT_EQ(roar.exit_code, 0) << roar.err;
  EXPECT_NE(test::read_text(dir / "roar" / "roar.svg").find("features removed"), std::string::npos);

  const auto measures = test::run_prism("-q evaluate measures" + model + " --samples 4 --methods saliency,smoothgrad,"
                                        "kernel-shap --out " + d + "/measures");
  ASSERT_EQ(measures.exit_code, 0) << measures.err;
  const auto values = nlohmann::json::parse(std::ifstream(dir / "measures" / "measures.json"));
  for (const auto& method : values.at("methods"))
    for (const auto& [name, value] : method.items())
      if (value.is_object()) EXPECT_TRUE(std::isfinite(value.at("mean").get<double>())) << name;

  // The data-attribution metrics with their defaults for a table: an mlp, and every metric but the shortcut (an
  // image mark) and identical-subclass (no grouping of these classes).
  const auto data_metrics = test::run_prism("-q evaluate data-attribution" + data + " --methods dualview,random "
                                            "--epochs 2 --lds-subsets 3 --out " + d + "/data");
  ASSERT_EQ(data_metrics.exit_code, 0) << data_metrics.err;
  const auto scores = nlohmann::json::parse(std::ifstream(dir / "data" / "data-attribution.json")).at("metrics");
  EXPECT_FALSE(scores.contains("shortcut"));
  EXPECT_FALSE(scores.contains("identical-subclass"));
  for (const auto* metric : {"identical-class", "mislabel", "mixed-datasets", "lds"})
    EXPECT_TRUE(std::isfinite(scores.at(metric).at("values").at("dualview").get<double>())) << metric;
  test::expect_clean_failure(test::run_prism("-q evaluate data-attribution" + data + " --metrics shortcut --out " + d +
                                             "/shortcut"),
                             "table rows");
}

}  // namespace
}  // namespace prism
