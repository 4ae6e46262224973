// EBE-DNN (seed 000): the weights are a probability vector whose label vote is the prediction, the search
// equals a brute-force LibTorch computation, and the fit folder is checked when it is opened.
#include "test_util.h"

namespace prism {
namespace {
using test::run_prism;

// Exact k nearest rows by ‖a−b‖² = ‖a‖² + ‖b‖² − 2a·b and a top-k, in plain LibTorch.
std::pair<torch::Tensor, torch::Tensor> brute_force(const torch::Tensor& queries, const torch::Tensor& rows, int64_t k) {
  const auto q = queries.to(torch::kFloat64), r = rows.to(torch::kFloat64);
  const auto squared = q.pow(2).sum(1, true) + r.pow(2).sum(1).unsqueeze(0) - 2 * q.matmul(r.t());
  const auto [values, indices] = squared.topk(k, 1, /*largest=*/false);
  return {values.clamp_min(0).sqrt(), indices};
}

TEST(EbeDnn, WeightsAreAProbabilityAndThePredictionIsTheirLabelVote) {
  torch::manual_seed(0);
  const int64_t n = 500, classes = 7, b = 40, k = 12;
  const auto train_labels = torch::randint(classes, {n}, torch::kInt64);
  Neighbours neighbours{torch::randint(n, {b, k}, torch::kInt64),
                        std::get<0>(torch::rand({b, k}).sort(1))};
  for (const std::string weighting : {"uniform", "distance"})
    for (const auto& [top, share] : std::vector<std::pair<int64_t, double>>{{0, 0}, {3, 0}, {0, 0.5}, {5, 0.9}}) {
      EbeOptions options;
      options.k = k, options.weights = weighting, options.top = top, options.share = share;
      const auto a = attribute_neighbours(neighbours, train_labels, classes, options);
      EXPECT_GE(a.weights.min().item<float>(), 0.0f);
      EXPECT_TRUE(torch::allclose(a.weights.sum(1), torch::ones({b}), 1e-5, 1e-6)) << weighting;
      if (top > 0) EXPECT_LE((a.weights > 0).sum(1).max().item<int64_t>(), top);
      // The vote, computed independently, one example at a time.
      auto vote = torch::zeros({b, classes}, torch::kFloat64);
      for (int64_t i = 0; i < b; ++i)
        for (int64_t j = 0; j < k; ++j)
          vote[i][train_labels[neighbours.indices[i][j]].item<int64_t>()] += a.weights[i][j].item<double>();
      EXPECT_TRUE(torch::allclose(a.probabilities.to(torch::kFloat64), vote, 1e-6, 1e-7));
      EXPECT_TRUE(a.predictions.equal(a.probabilities.argmax(1)));
      // The dense form holds the same weights in the training examples' columns.
      EXPECT_TRUE(torch::allclose(a.dense(n).sum(1), torch::ones({b}), 1e-5, 1e-6));
    }
}

TEST(EbeDnn, DistanceWeightsAreInverseDistanceAndExactMatchesTakeAll) {
  const auto distances = torch::tensor({{1.0f, 2.0f, 4.0f}, {0.0f, 0.0f, 3.0f}});
  const auto w = neighbour_weights(distances, "distance");
  const double total = 1 + 0.5 + 0.25;
  EXPECT_TRUE(torch::allclose(w[0], torch::tensor({1 / total, 0.5 / total, 0.25 / total}).to(torch::kFloat32)));
  EXPECT_TRUE(torch::allclose(w[1], torch::tensor({0.5f, 0.5f, 0.0f})));
}

TEST(EbeDnn, KeepsTheFewestExamplesReachingTheShare) {
  const auto weights = torch::tensor({{0.1f, 0.5f, 0.3f, 0.1f}});
  EXPECT_TRUE(torch::allclose(keep_largest(weights, 0, 0.5), torch::tensor({{0.0f, 1.0f, 0.0f, 0.0f}})));
  EXPECT_TRUE(torch::allclose(keep_largest(weights, 0, 0.8), torch::tensor({{0.0f, 0.625f, 0.375f, 0.0f}})));
  EXPECT_TRUE(torch::allclose(keep_largest(weights, 1, 0.0), torch::tensor({{0.0f, 1.0f, 0.0f, 0.0f}})));
  EXPECT_EQ(examples_to_reach(weights, 0.5).item<int64_t>(), 1);
  EXPECT_EQ(examples_to_reach(weights, 0.9).item<int64_t>(), 3);
  EXPECT_EQ(examples_to_reach(weights, 1.0).item<int64_t>(), 4);
}

TEST(KnnIndex, ExactSearchEqualsBruteForce) {
  torch::manual_seed(1);
  const auto rows = torch::randn({3000, 48}), queries = torch::randn({64, 48});
  const KnnIndex index(rows, {});
  const auto found = index.search(queries, 15);
  const auto [distances, indices] = brute_force(queries, rows, 15);
  EXPECT_TRUE(found.indices.equal(indices));
  EXPECT_TRUE(torch::allclose(found.distances.to(torch::kFloat64), distances, 1e-4, 1e-4));
}

TEST(KnnIndex, CosineAndL2AgreeOnUnitLengthRows) {
  torch::manual_seed(2);
  auto rows = torch::randn({2000, 16}), queries = torch::randn({50, 16});
  rows = rows / rows.norm(2, 1, true), queries = queries / queries.norm(2, 1, true);
  KnnIndexOptions cosine;
  cosine.metric = "cosine";
  const auto l2 = KnnIndex(rows, {}).search(queries, 10);
  const auto cos = KnnIndex(rows, cosine).search(queries, 10);
  EXPECT_TRUE(l2.indices.equal(cos.indices));
  // ‖a − b‖² = 2 (1 − cos) for unit vectors.
  EXPECT_TRUE(torch::allclose(l2.distances.pow(2), 2 * cos.distances, 1e-4, 1e-4));
}

TEST(KnnIndex, ApproximateIndexesReportTheirRecall) {
  EXPECT_DOUBLE_EQ(recall_at_k(torch::tensor({{1, 2, 3}, {4, 5, 6}}), torch::tensor({{3, 2, 9}, {6, 5, 4}})), 5.0 / 6);
  torch::manual_seed(3);
  // Clustered data, as embeddings are.
  const auto centres = torch::randn({20, 32}) * 4;
  const auto rows = (centres.index({torch::randint(20, {4000})}) + torch::randn({4000, 32})).contiguous();
  const auto queries = centres.index({torch::randint(20, {100})}) + torch::randn({100, 32});
  const auto exact = KnnIndex(rows, {}).search(queries, 10).indices;
  for (const std::string kind : {"ivf", "hnsw"}) {
    KnnIndexOptions options;
    options.kind = kind;
    KnnIndex index(rows, options);
    index.build();
    const double recall = recall_at_k(index.search(queries, 10).indices, exact);
    EXPECT_GT(recall, 0.9) << kind;
    EXPECT_LE(recall, 1.0);
  }
}

TEST(EbeDnn, FitOnRealDataFindsEachTrainingImageItselfAndReopens) {
  test::TempDir dir;
  const auto train = random_subset(test::fashion_train(), 400, 5);
  auto network = make_zoo_network({"cnn"});
  network->set_training(false);
  EbeDnn::FitOptions options;
  options.embedding.layer = "pool";
  const auto fitted = EbeDnn::fit(*network, train, options, dir.path(), {"test", "x", "test", 0, 0});
  // The memory-mapped cache holds exactly the embeddings.
  const auto cached = map_npy(dir / "embeddings.npy");
  EXPECT_TRUE(torch::allclose(cached, embed(*network, train.images, options.embedding), 1e-5, 1e-6));
  EbeOptions one;
  one.k = 1;
  const auto self = EbeDnn::open(dir.path()).explain(*network, train.images, one);
  const auto found_itself = self.indices.squeeze(1).eq(torch::arange(train.size())) | self.distances.squeeze(1).eq(0);
  EXPECT_TRUE(found_itself.all().item<bool>());
  EXPECT_TRUE(self.predictions.equal(train.labels));

  // A truncated cache is refused with a clear message.
  std::filesystem::resize_file(dir / "embeddings.npy", std::filesystem::file_size(dir / "embeddings.npy") - 4);
  try {
    EbeDnn::open(dir.path());
    ADD_FAILURE() << "a truncated cache was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated or corrupt"), std::string::npos) << e.what();
  }
}

// The sweep's accuracies against a brute-force kNN written here: all distances, the k smallest, a majority vote
// (ties to the lower class, as argmax breaks them).
TEST(KnnSweep, AccuraciesEqualABruteForceVote) {
  auto network = make_zoo_network({"cnn"});
  network->set_training(false);
  const auto train = random_subset(test::fashion_train(), 300, 7);
  const auto held_out = random_subset(test::fashion_test(), 160, 7);
  const auto validation = held_out.select(torch::arange(0, 80)), test_split = held_out.select(torch::arange(80, 160));
  KnnSweepOptions options;
  options.layers = {"relu3", "pool"};
  options.ks = {1, 3, 5};
  const auto result = knn_sweep(*network, train, validation, test_split, options);
  ASSERT_EQ(result.rows.size(), 2u * 3u * 2u);
  for (const auto& row : result.rows) {
    SCOPED_TRACE(row.layer + " " + row.split + " k=" + std::to_string(row.k));
    const auto& split = row.split == "test" ? test_split : validation;
    const auto train_embedding = network->activation(train.images, row.layer).flatten(1).detach();
    const auto embedding = network->activation(split.images, row.layer).flatten(1).detach();
    EXPECT_EQ(row.dim, train_embedding.size(1));
    const auto nearest = std::get<1>(torch::cdist(embedding, train_embedding).topk(row.k, 1, /*largest=*/false));
    const auto votes = torch::one_hot(train.labels.index({nearest}), 10).sum(1);
    const auto knn = votes.argmax(1), predicted = network->forward(split.images).argmax(1);
    EXPECT_NEAR(row.knn_accuracy, knn.eq(split.labels).to(torch::kFloat64).mean().item<double>(), 1e-9);
    EXPECT_NEAR(row.network_accuracy, predicted.eq(split.labels).to(torch::kFloat64).mean().item<double>(), 1e-9);
    EXPECT_NEAR(row.agreement, knn.eq(predicted).to(torch::kFloat64).mean().item<double>(), 1e-9);
  }
}

TEST(ExamplesCli, FitsExplainsSweepsAndRefusesMismatches) {
  test::TempDir dir;
  const auto model = (dir / "cnn.prism").string();
  save_network(*make_zoo_network({"cnn"}), model);
  const std::string data = " --train-size 300 --test-size 100";
  auto fit = run_prism("examples fit --model " + model + " --train fashion-mnist" + data + " --layer relu3 --out " +
                       (dir / "fit").string());
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  auto explain = run_prism("examples explain --fit " + (dir / "fit").string() + " --data fashion-mnist" + data +
                           " --indices 0:3 --k 5 --weights distance --out " + (dir / "x").string());
  ASSERT_EQ(explain.exit_code, 0) << explain.err;
  const auto json = nlohmann::json::parse(test::read_bytes(dir / "x/explanations.json"));
  ASSERT_EQ(json["samples"].size(), 3u);
  double total = 0;
  for (const auto& example : json["samples"][0]["examples"]) total += example["weight"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-5);
  EXPECT_EQ(read_npy(dir / "x/weights.npy").sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_TRUE(std::filesystem::exists(dir / "x/examples-002.png"));

  auto sweep = run_prism("examples sweep --model " + model + " --train fashion-mnist" + data +
                         " --layers pool,relu3 --k 1,3 --out " + (dir / "sweep").string());
  ASSERT_EQ(sweep.exit_code, 0) << sweep.err;
  const auto result = nlohmann::json::parse(test::read_bytes(dir / "sweep/sweep.json"));
  EXPECT_EQ(result["rows"].size(), 8u);  // 2 layers × 2 k × (validation, test)
  EXPECT_TRUE(std::filesystem::exists(dir / "sweep/accuracy-by-layer.svg"));

  auto fails = [](const std::string& arguments, const std::string& fragment) {
    SCOPED_TRACE(arguments);
    test::expect_clean_failure(run_prism(arguments), fragment);
  };
  const auto none = (dir / "none").string();
  fails("examples fit --model " + model + " --train fashion-mnist" + data + " --layer fc9 --out " + none,
        "layers are: conv1");
  fails("examples explain --fit " + (dir / "fit").string() + " --data fashion-mnist" + data + " --k 301 --out " + none,
        "exceeds the 300 training examples");
  fails("examples explain --fit " + none + " --data fashion-mnist --out " + none, "no finished fit");
  save_network(*make_zoo_network({"mlp"}), model);  // another model at the same path
  fails("examples explain --fit " + (dir / "fit").string() + " --data fashion-mnist" + data + " --out " + none,
        "is not the one the fit");
  EXPECT_FALSE(std::filesystem::exists(none)) << "a failed command left output behind";
}

}  // namespace
}  // namespace prism
