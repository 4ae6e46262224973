// Training on real data: accuracy on a subset, determinism, checkpoints and resume.
#include "test_util.h"

namespace prism {
namespace {

struct Run {
  std::unique_ptr<Network> network;
  std::vector<EpochRecord> history;
};

Run train_small(const std::string& architecture, int64_t train_size, int64_t epochs, const std::filesystem::path& out,
                uint64_t seed = 0) {
  const auto train = random_subset(test::fashion_train(), train_size, 11);
  const auto test_set = random_subset(test::fashion_test(), 2000, 12);
  ZooOptions model;
  model.architecture = architecture;
  model.seed = seed;
  Run run;
  run.network = make_zoo_network(model);
  set_metadata(*run.network, train.sample_shape(), 10, train.class_names, train.normalization);
  TrainOptions options;
  options.epochs = epochs;
  options.seed = seed;
  options.out = out;
  run.history = train_network(*run.network, train, &test_set, options);
  return run;
}

bool same_weights(Network& a, Network& b) {
  auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    if (!torch::equal(pa[i], pb[i])) return false;
  return !pa.empty() && pa.size() == pb.size();
}

TEST(Train, CnnReaches80PercentOnA5000ImageSubset) {
  test::TempDir dir;
  const auto run = train_small("cnn", 5000, 3, dir.path());
  EXPECT_GE(run.history.back().test_accuracy, 0.80);
  EXPECT_LT(run.history.back().train_loss, run.history.front().train_loss);
  for (int epoch = 1; epoch <= 3; ++epoch)
    EXPECT_TRUE(std::filesystem::exists(dir / ("checkpoints/epoch-00" + std::to_string(epoch) + ".prism")));
  // The saved model predicts what the trained one does.
  auto saved = load_network(dir / "model.prism");
  const auto& test_set = test::fashion_test();
  EXPECT_EQ(saved->class_names()[0], "T-shirt/top");
  EXPECT_NEAR(evaluate(*saved, random_subset(test_set, 2000, 12)).accuracy, run.history.back().test_accuracy, 1e-9);
}

TEST(Train, SameSeedGivesTheSameWeights) {
  auto a = train_small("mlp", 2000, 1, {}, 4), b = train_small("mlp", 2000, 1, {}, 4), c = train_small("mlp", 2000, 1, {}, 5);
  EXPECT_TRUE(same_weights(*a.network, *b.network));
  EXPECT_FALSE(same_weights(*a.network, *c.network));
}

TEST(Train, ResumingAnInterruptedRunGivesTheUninterruptedWeights) {
  test::TempDir straight, interrupted;
  auto full = train_small("cnn", 1000, 2, straight.path());
  train_small("cnn", 1000, 1, interrupted.path());  // stopped after epoch 1
  auto resumed = train_small("cnn", 1000, 2, interrupted.path());
  EXPECT_EQ(resumed.history.size(), 2u);
  EXPECT_TRUE(same_weights(*full.network, *resumed.network));
  // A run folder of other options is not silently continued.
  EXPECT_THROW(train_small("cnn", 1000, 2, interrupted.path(), 9), Error);
}

// The optimizer's state is a LibTorch archive, which LibTorch reads without checking: prism checks it first.
TEST(Train, ADamagedOptimizerStateIsNamedWhenResuming) {
  test::TempDir dir;
  train_small("mlp", 300, 1, dir.path());
  const auto path = dir / "optimizer.pt";
  auto bytes = test::read_bytes(path);
  bytes[bytes.size() / 3] ^= 0x40;  // inside the stored moment estimates
  test::write_bytes(path, bytes);
  try {
    train_small("mlp", 300, 2, dir.path());
    ADD_FAILURE() << "resumed from a damaged optimizer state";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + " is damaged: record 'archive/data/"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace prism
