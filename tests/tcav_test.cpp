// TCAV (Kim et al. 2018): Welch's t-test against the t table, CAVs that separate the stamped mark and point towards
// it, directional derivatives against autograd through the rest of the model, scores that are exactly the sign of
// W_k · v where the layer feeds a linear head, FLINT's attributes scored at the layer they read, and the command on
// a model trained with the mark as a shortcut of one class, with its bad input.
#include <fstream>

#include "test_util.h"

namespace prism {
namespace {

using test::run_prism;

std::unique_ptr<Network> cnn(uint64_t seed = 0) {
  ZooOptions options;
  options.seed = seed;
  auto network = make_zoo_network(options, test::fashion_test());
  network->set_training(false);
  return network;
}

TcavOptions small_options() {
  TcavOptions o;
  o.random_sets = 4;
  o.examples_per_set = 24;
  o.inputs_per_output = 16;
  return o;
}

TEST(Tcav, WelchTestMatchesTheTTable) {
  // Equal sizes and variances: Welch's t is Student's with 2n - 2 = 10 degrees of freedom, whose two-sided 5 % and
  // 1 % critical values are 2.228139 and 3.169273.
  const std::vector<double> base = {0, 1, 2, 3, 4, 5};
  const double se = std::sqrt(2 * 3.5 / 6);
  for (const auto& [t, p] : std::vector<std::pair<double, double>>{{2.228139, 0.05}, {3.169273, 0.01}}) {
    std::vector<double> shifted;
    for (double x : base) shifted.push_back(x + t * se);
    EXPECT_NEAR(welch_t_test(shifted, base), p, 1e-6);
    EXPECT_NEAR(welch_t_test(base, shifted), p, 1e-6);
  }
  EXPECT_DOUBLE_EQ(welch_t_test(base, base), 1.0);
  EXPECT_EQ(welch_t_test({1, 1, 1}, {0.5, 0.5}), 0.0);
  EXPECT_EQ(welch_t_test({1, 1, 1}, {1, 1}), 1.0);
  EXPECT_THROW(welch_t_test({1}, {1, 2}), Error);
}

TEST(Tcav, CavSeparatesTheMarkAndPointsTowardsIt) {
  auto network = cnn();
  const auto& train = test::fashion_train();
  const auto images = train.images.narrow(0, 0, 120);
  const auto marked = stamp_mark(images.narrow(0, 0, 60), MarkOptions{});
  const auto concept_acts = network->activation(marked, "relu1").flatten(1).detach();
  const auto random_acts = network->activation(images.narrow(0, 60, 60), "relu1").flatten(1).detach();
  const auto cav = train_cav(concept_acts, random_acts, small_options(), 3);
  EXPECT_GE(cav.accuracy, 0.95);
  EXPECT_NEAR(cav.direction.norm().item<double>(), 1.0, 1e-5);
  EXPECT_GT((concept_acts.mean(0) - random_acts.mean(0)).dot(cav.direction).item<double>(), 0);
  // The same sets swapped give a CAV pointing the other way.
  const auto swapped = train_cav(random_acts, concept_acts, small_options(), 3);
  EXPECT_LT(swapped.direction.dot(cav.direction).item<double>(), -0.9);
}

// train_cav solves the logistic regression in the span of the examples (from their Gram matrix); here over w.
TEST(Tcav, CavIsThePrimalLogisticRegressionsNormal) {
  torch::manual_seed(4);
  const auto concept_acts = torch::randn({30, 80}, torch::kDouble) + 0.3, random_acts = torch::randn({30, 80}, torch::kDouble);
  auto options = small_options();
  options.held_out = 0;
  options.l2 = 0.05;
  const auto cav = train_cav(concept_acts.to(torch::kFloat), random_acts.to(torch::kFloat), options, 0);
  const auto x = torch::cat({concept_acts, random_acts}).to(torch::kFloat).to(torch::kDouble);
  const auto y = torch::cat({torch::ones({30}, torch::kDouble), torch::zeros({30}, torch::kDouble)});
  const auto xs = x / x.pow(2).sum(1).mean().sqrt();
  auto w = torch::zeros({80}, torch::kDouble).requires_grad_(true), b = torch::zeros({}, torch::kDouble).requires_grad_(true);
  torch::optim::LBFGS solver({w, b}, torch::optim::LBFGSOptions(1).max_iter(1000).tolerance_grad(1e-12)
                                         .tolerance_change(1e-16).line_search_fn("strong_wolfe"));
  solver.step([&] {
    solver.zero_grad();
    auto loss = torch::binary_cross_entropy_with_logits(xs.matmul(w) + b, y) + 0.5 * options.l2 * w.pow(2).sum();
    loss.backward();
    return loss;
  });
  const auto primal = (w / w.norm()).detach().to(torch::kFloat);
  EXPECT_GT(primal.dot(cav.direction).item<double>(), 0.9999);
  EXPECT_GT(cav.accuracy, 0.6);  // on the training examples, with nothing held out
}

TEST(Tcav, OutputGradientsAreTheDerivativesOfTheRestOfTheModel) {
  auto network = cnn(1);
  const auto images = test::fashion_test().images.narrow(0, 0, 6);
  const auto outputs = class_outputs(*network, images, torch::full({6}, 3, torch::kInt64), {3}, 6);
  const auto gradients = output_gradients(*network, outputs, 0, images, "relu2", 4);
  // Independently: the rest of the model run from relu2's output, differentiated by autograd.
  auto activation = network->activation(images, "relu2").detach().requires_grad_(true);
  network->forward_from("relu2", activation).select(1, 3).sum().backward();
  ASSERT_EQ(gradients.sizes(), activation.grad().flatten(1).sizes());
  EXPECT_TRUE(torch::allclose(gradients, activation.grad().flatten(1), 1e-5, 1e-6));
  EXPECT_GT(gradients.abs().sum().item<double>(), 0);

  // The log-probability at the penultimate features: ∂ log p_k / ∂f = W_k − Σ_j p_j W_j.
  const auto log_p = class_outputs(*network, images, torch::full({6}, 3, torch::kInt64), {3}, 6, "log-probability");
  const auto penultimate = penultimate_layer(*network);
  const auto w = network->layer_parameters(last_linear_layer_info(*network).name)->weight.detach();
  const auto p = torch::softmax(network->forward(images), 1).detach();
  EXPECT_TRUE(torch::allclose(output_gradients(*network, log_p, 0, images, penultimate, 4), w[3] - p.matmul(w), 1e-5, 1e-6));
  EXPECT_THROW(class_outputs(*network, images, torch::full({6}, 3, torch::kInt64), {3}, 6, "probability"), Error);
}

// At the penultimate features the logits are W f + b, so ∇h_k = W_k for every input and each CAV's TCAV score is
// 1 where W_k · v > 0 and 0 otherwise, its magnitude too.
TEST(Tcav, ScoresAreTheSignOfTheHeadsWeightAlongEachCav) {
  auto network = cnn(2);
  const auto& train = test::fashion_train();
  const auto& data = test::fashion_test();
  const std::vector<ConceptExamples> concepts = {{"mark", stamp_mark(train.images.narrow(0, 0, 24), MarkOptions{})},
                                                 {"trouser", train.images.index_select(0, (train.labels == 1).nonzero().flatten().narrow(0, 0, 24))}};
  const auto test_images = data.images.narrow(0, 0, 400), test_labels = data.labels.narrow(0, 0, 400);
  auto options = small_options();
  options.layer = penultimate_layer(*network);
  const auto result = tcav(*network, concepts, train.images.narrow(0, 1000, 200),
                           class_outputs(*network, test_images, test_labels, {}, options.inputs_per_output), options);
  EXPECT_EQ(default_tcav_layer(*network), "relu2");  // relu1, relu2, relu3: the rest after relu2 is non-linear
  ASSERT_EQ(result.scores.sizes(), (std::vector<int64_t>{2, 10, 4}));
  ASSERT_EQ(result.cavs.sizes(), (std::vector<int64_t>{3, 4, 128}));
  const auto w = network->layer_parameters(last_linear_layer_info(*network).name)->weight.detach();  // [10, 128]
  const auto expected = (result.cavs.flatten(0, 1).matmul(w.t()) > 0).to(torch::kFloat).t().reshape({10, 3, 4});
  EXPECT_TRUE(torch::equal(result.scores, expected.narrow(1, 0, 2).transpose(0, 1)));
  EXPECT_TRUE(torch::equal(result.magnitudes, result.scores));
  EXPECT_TRUE(torch::equal(result.null_scores, expected.select(1, 2)));
  EXPECT_TRUE((result.p_values >= 0).all().item<bool>() && (result.p_values <= 1).all().item<bool>());
  EXPECT_EQ(result.inputs.sum().item<int64_t>(), 160);
  // The record round-trips.
  const auto back = TcavResult::from_json(result.to_json());
  EXPECT_TRUE(torch::allclose(back.scores, result.scores));
  EXPECT_TRUE(torch::allclose(back.p_values, result.p_values));
  EXPECT_EQ(back.concepts, result.concepts);
}

TEST(Tcav, FlintAttributesAreScoredAtTheLayerTheyRead) {
  auto network = cnn(3);
  torch::manual_seed(0);
  FlintInterpreter interpreter(describe_flint_layers(*network, {"relu2"}, 4));
  interpreter->eval();
  const auto images = test::fashion_test().images.narrow(0, 0, 40);
  const auto outputs = flint_attribute_outputs(*network, interpreter, images, 8);
  ASSERT_FALSE(outputs.names.empty());
  const auto gradients = output_gradients(*network, outputs, 0, outputs.inputs[0], "relu2", 8);
  auto activation = network->activation(outputs.inputs[0], "relu2").detach().requires_grad_(true);
  interpreter->attributes({activation}).select(1, outputs.columns[0]).sum().backward();
  EXPECT_TRUE(torch::allclose(gradients, activation.grad().flatten(1), 1e-5, 1e-6));
  // The penultimate features lie after the layer FLINT reads: its attributes do not depend on them.
  try {
    output_gradients(*network, outputs, 0, outputs.inputs[0], penultimate_layer(*network), 8);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not depend on layer"), std::string::npos) << e.what();
  }
}

TEST(Tcav, RefusesBadOptionsAndConceptsNamingTheProblem) {
  auto options = small_options();
  options.random_sets = 1;
  EXPECT_THROW(check_tcav_options(options), Error);
  const auto& train = test::fashion_train();
  try {
    concept_examples("class:Jacket", train, {1, 28, 28}, MarkOptions{}, 10, 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Coat"), std::string::npos) << e.what();  // lists the class names
  }
  EXPECT_EQ(concept_examples("class:Coat", train, {1, 28, 28}, MarkOptions{}, 10, 0).name, "class:Coat");
  EXPECT_EQ(concept_examples("class:4", train, {1, 28, 28}, MarkOptions{}, 10, 0).images.size(0), 10);
  EXPECT_THROW(concept_examples("stripes", train, {1, 28, 28}, MarkOptions{}, 10, 0), Error);
  auto network = cnn();
  const std::vector<ConceptExamples> concepts = {{"mark", stamp_mark(train.images.narrow(0, 0, 24), MarkOptions{})}};
  // Too few random images for M + 1 disjoint sets.
  EXPECT_THROW(tcav(*network, concepts, train.images.narrow(0, 0, 50),
                    class_outputs(*network, train.images.narrow(0, 0, 50), train.labels.narrow(0, 0, 50), {0}, 4),
                    small_options()),
               Error);
}

class TcavCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    test::build_once("tcav-command", dir_->path(), [](const std::filesystem::path& folder) {
      // Half the T-shirts carry the mark: a shortcut of class 0.
      ASSERT_EQ(run_prism("-q train --data fashion-mnist --train-size 3000 --test-size 500 --epochs 2 --mark-class 0 "
                          "--mark-fraction 0.5 --out " + (folder / "marked").string()).exit_code, 0);
    });
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string d() { return dir_->path().string(); }
  static test::TempDir* dir_;
};
test::TempDir* TcavCommand::dir_ = nullptr;

TEST_F(TcavCommand, TheMarkMovesTheClassItIsAShortcutOf) {
  test::TempDir out;
  const auto result = run_prism("-q concepts tcav --model " + d() + "/marked/model.prism --data fashion-mnist "
                                "--train-size 3000 --test-size 500 --concepts mark,class:Trouser --classes 0,1,5 "
                                "--random-sets 10 --examples-per-set 40 --inputs-per-output 40 --out " +
                                (out / "tcav").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto study = open_tcav(out / "tcav");
  ASSERT_EQ(study.classes.concepts, (std::vector<std::string>{"mark", "class:Trouser"}));
  ASSERT_EQ(study.classes.outputs, (std::vector<std::string>{"T-shirt/top", "Trouser", "Sandal"}));
  // The mark raises the T-shirt logit on nearly every T-shirt, and significantly more than random directions do.
  EXPECT_GT(study.classes.scores[0][0].mean().item<double>(), 0.9);
  EXPECT_TRUE(study.classes.significant(0, 0));
  EXPECT_GT(study.classes.cav_accuracy[0].mean().item<double>(), 0.9);
  // Trousers' own images raise the trouser logit.
  EXPECT_GT(study.classes.scores[1][1].mean().item<double>(), 0.9);
  EXPECT_TRUE(study.classes.significant(1, 1));
  EXPECT_TRUE(std::filesystem::exists(out / "tcav" / "tcav.md"));
  EXPECT_EQ(read_npy(out / "tcav" / "cavs.npy").sizes(), study.classes.cavs.sizes());
}

TEST_F(TcavCommand, BadInputGetsOneClearLine) {
  test::TempDir out;
  const std::string base = "concepts tcav --model " + d() + "/marked/model.prism --data fashion-mnist --train-size 3000 "
                           "--test-size 500 --out " + (out / "x").string();
  test::expect_clean_failure(run_prism(base + " --concepts stripes"), "unknown concept 'stripes'");
  test::expect_clean_failure(run_prism(base + " --concepts folder:" + (out / "none").string()), "not found");
  std::filesystem::create_directories(out / "big");
  write_png(out / "big" / "a.png", torch::zeros({1, 32, 32}));
  test::expect_clean_failure(run_prism(base + " --concepts folder:" + (out / "big").string()), "resize");
  test::expect_clean_failure(run_prism(base + " --random-sets 1"), "random_sets");
  test::expect_clean_failure(run_prism(base + " --classes 12"), "class 12");
  EXPECT_FALSE(std::filesystem::exists(out / "x" / "fit.json"));
}

}  // namespace
}  // namespace prism
