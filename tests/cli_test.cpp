// The prism command end to end on small real data, and its answers to bad input: a non-zero exit,
// one clear line on stderr, nothing half-written.
#include <cmath>

#include "test_util.h"

namespace prism {
namespace {
using test::expect_clean_failure;
using test::run_prism;

TEST(Cli, TrainsPredictsAndListsLayers) {
  test::TempDir dir;
  auto trained = run_prism("train --data fashion-mnist --model-arch mlp --epochs 1 --train-size 2000 --test-size 500 --out " +
                           (dir / "run").string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.out.find("test accuracy"), std::string::npos);
  auto predicted = run_prism("predict --json --model " + (dir / "run/model.prism").string() +
                             " --data fashion-mnist --test-size 500 --out " + (dir / "pred").string());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  const auto json = nlohmann::json::parse(predicted.out);
  EXPECT_GT(json["accuracy"].get<double>(), 0.6);
  EXPECT_EQ(json["samples"], 500);
  EXPECT_EQ(read_npy(dir / "pred/predictions.npy").size(0), 500);
  auto layers = run_prism("layers " + (dir / "run/model.prism").string());
  ASSERT_EQ(layers.exit_code, 0);
  EXPECT_NE(layers.out.find("relu2"), std::string::npos);
}

TEST(Cli, Bf16PassesPredictAndFitWithTheirExplanationsAtTheFitsPrecision) {
  test::TempDir dir;
  ASSERT_EQ(run_prism("-q train --data fashion-mnist --model-arch cnn --epochs 1 --train-size 2000 --test-size 100 "
                      "--out " + (dir / "run").string()).exit_code, 0);
  const auto model = (dir / "run/model.prism").string();
  // 1,100 test images: enough for the compiled pass, which then runs in bf16.
  const auto accuracy = [&](const std::string& precision) {
    auto predicted = run_prism("predict --json --precision " + precision + " --model " + model +
                               " --data fashion-mnist --test-size 1100");
    EXPECT_EQ(predicted.exit_code, 0) << predicted.err;
    return nlohmann::json::parse(predicted.out).at("accuracy").get<double>();
  };
  const double fp32 = accuracy("fp32"), bf16 = accuracy("bf16");
  EXPECT_GT(fp32, 0.6);
  EXPECT_NEAR(bf16, fp32, 0.01);
  auto fit = run_prism("-q --precision bf16 examples fit --model " + model +
                       " --train fashion-mnist --train-size 1100 --out " + (dir / "fit").string());
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  const auto bytes = read_file(dir / "fit/fit.json", 1 << 20);
  const auto record = nlohmann::json::parse(bytes.begin(), bytes.end());
  EXPECT_EQ(record.at("provenance").at("precision"), "bf16");
  auto explained = run_prism("-q examples explain --fit " + (dir / "fit").string() +
                             " --data fashion-mnist --indices 0:2 --out " + (dir / "explained").string());
  EXPECT_EQ(explained.exit_code, 0) << explained.err;
  auto refused = run_prism("--precision fp16 predict --model " + model + " --data fashion-mnist");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("--precision"), std::string::npos) << refused.err;
}

TEST(Cli, BadInputGivesOneClearLineAndNoOutput) {
  test::TempDir dir;
  const auto out = (dir / "out").string();
  expect_clean_failure(run_prism("train --data idx:/nonexistent/ --out " + out), "not found");
  expect_clean_failure(run_prism("train --data mnist-9000 --out " + out), "unknown data set");
  expect_clean_failure(run_prism("train --data fashion-mnist --model-arch vgg --train-size 10 --out " + out), "unknown model");
  expect_clean_failure(run_prism("train --data fashion-mnist --model mlp --train-size 10 --out " + out),
                       "takes the architecture as --model-arch");
  expect_clean_failure(run_prism("--threads 0 train --data fashion-mnist --out " + out), "--threads");
  expect_clean_failure(run_prism("--blas-threads 0 train --data fashion-mnist --out " + out), "--blas-threads");
  expect_clean_failure(run_prism("train --data fashion-mnist --epochs 0 --train-size 10 --out " + out), "epochs must be at least 1");
  EXPECT_FALSE(std::filesystem::exists(out)) << "a failed command left output behind";

  expect_clean_failure(run_prism("predict --model " + (dir / "none.prism").string() + " --data fashion-mnist"),
                       "model file not found");
  test::write_bytes(dir / "bad.prism", {'P', 'R', 'I', 'S', 'M', 'M', 'D', 'L', 1, 0, 0, 0, 9, 9, 9});
  expect_clean_failure(run_prism("predict --model " + (dir / "bad.prism").string() + " --data fashion-mnist"), "truncated");
  expect_clean_failure(run_prism("layers " + (dir / "bad.prism").string()), "truncated");

  // Wrong input shape: a model for 28x28 grey images given 3x32x32 colour ones.
  auto net = make_zoo_network({"mlp"});
  save_network(*net, dir / "mlp.prism");
  write_npy(dir / "x.npy", torch::rand({4, 3, 32, 32}));
  write_npy(dir / "y.npy", torch::tensor({0, 1, 0, 1}, torch::kInt64));
  expect_clean_failure(run_prism("predict --model " + (dir / "mlp.prism").string() + " --data npy:" +
                                 (dir / "x.npy").string() + "," + (dir / "y.npy").string()),
                       "expects images [B, 1, 28, 28]");
  write_npy(dir / "y3.npy", torch::tensor({0, 1, 0}, torch::kInt64));
  expect_clean_failure(run_prism("predict --model " + (dir / "mlp.prism").string() + " --data npy:" +
                                 (dir / "x.npy").string() + "," + (dir / "y3.npy").string()),
                       "4 images but 3 labels");
  // A TorchScript model lists its op-level layers and graph without data; shapes with --input-shape.
  const auto graph = run_prism("layers " + (test::fixtures() / "skipnet.pt").string());
  ASSERT_EQ(graph.exit_code, 0) << graph.err;
  EXPECT_NE(graph.out.find("add                              add          yes  -                  relu:1, relu:0"),
            std::string::npos) << graph.out;
  const auto shaped = run_prism("layers " + (test::fixtures() / "skipnet.pt").string() + " --input-shape 1,28,28");
  EXPECT_NE(shaped.out.find("[4, 28, 28]"), std::string::npos) << shaped.out;
  expect_clean_failure(run_prism("layers " + (test::fixtures() / "skipnet.pt").string() + " --input-shape 1,28,0"),
                       "--input-shape must be C,H,W, C,T or F");
  // A shape the model was not made for (a sequence [1, 28] for an image model) fails in one line that names it.
  expect_clean_failure(run_prism("layers " + (test::fixtures() / "skipnet.pt").string() + " --input-shape 1,28"),
                       "fails on sequences of shape [1, 28]");
  expect_clean_failure(run_prism("attribute --model " + (test::fixtures() / "skipnet.pt").string() +
                                 " --inputs " + (dir / "x.npy").string() + " --method saliency --out " +
                                 (dir / "out").string()),
                       "fails on images of shape");
}

}  // namespace
}  // namespace prism

namespace prism {
namespace {

TEST(Cli, AttributeWritesMapsTargetsSummaryAndPictures) {
  test::TempDir dir;
  auto net = make_zoo_network({"cnn"}, test::fashion_test());
  save_network(*net, dir / "cnn.prism");
  const auto model = (dir / "cnn.prism").string(), out = (dir / "attr").string();
  auto result = run_prism("attribute --model " + model + " --data fashion-mnist --indices 0:3 --methods "
                          "pruned-gradient,integrated-gradients --steps 8 --targets true --out " + out);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_npy(dir / "attr/attributions-pruned-gradient.npy").sizes(), (std::vector<int64_t>{3, 1, 28, 28}));
  EXPECT_TRUE(torch::equal(read_npy(dir / "attr/targets.npy"), test::fashion_test().labels.narrow(0, 0, 3)));
  // The written maps are the library's, and the summary's numbers are recomputed here.
  const auto images = test::fashion_test().images.narrow(0, 0, 3), targets = test::fashion_test().labels.narrow(0, 0, 3);
  const auto pruned = read_npy(dir / "attr/attributions-pruned-gradient.npy");
  const auto integrated = read_npy(dir / "attr/attributions-integrated-gradients.npy");
  EXPECT_TRUE(torch::allclose(pruned, PrunedGradient().attribute(*net, images, targets), 1e-5, 1e-7));
  EXPECT_TRUE(torch::allclose(integrated, IntegratedGradients({.steps = 8}).attribute(*net, images, targets), 1e-5, 1e-7));
  const auto summary = nlohmann::json::parse(test::read_bytes(dir / "attr/summary.json"));
  EXPECT_EQ(summary["methods"][1]["options"]["steps"], 8);
  const auto logits = predict_logits(*net, images), at_zero = predict_logits(*net, torch::zeros_like(images));
  for (int64_t i = 0; i < 3; ++i) {
    const auto target = targets[i].item<int64_t>();
    const auto& ig_sample = summary["methods"][1]["samples"][i];
    EXPECT_EQ(ig_sample["index"], i);
    EXPECT_EQ(ig_sample["target"], target);
    EXPECT_NEAR(ig_sample["target_score"].get<double>(), logits[i][target].item<double>(), 1e-4);
    const double gap = (logits[i][target] - at_zero[i][target]).item<double>();
    EXPECT_NEAR(ig_sample["completeness_error"].get<double>(), std::abs(integrated[i].sum().item<double>() - gap), 1e-4);
    const double share = summary["methods"][0]["samples"][i]["pruned_share"].get<double>();
    EXPECT_GE(share, 0.85 - 1e-4);
    EXPECT_LT(share, 1.0);
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "attr/compare-002.png"));
  EXPECT_EQ(read_image(dir / "attr/heatmaps/pruned-gradient/000-heatmap.png", 3).size(0), 3);
}

TEST(Cli, AttributeRejectsBadInput) {
  test::TempDir dir;
  auto net = make_zoo_network({"cnn"});
  save_network(*net, dir / "cnn.prism");
  const auto base = "attribute --model " + (dir / "cnn.prism").string() + " --data fashion-mnist --out " +
                    (dir / "out").string();
  expect_clean_failure(run_prism(base + " --method deeplab"), "unknown attribution method");
  expect_clean_failure(run_prism(base + " --method pruned-gradient --sparsity 100"), "sparsity must lie in [0, 100)");
  expect_clean_failure(run_prism(base + " --method saliency --indices 9999:10001"), "outside the data");
  expect_clean_failure(run_prism(base + " --method saliency --targets 12"), "outside the model's classes");
  expect_clean_failure(run_prism(base + " --method grad-cam --layer fc9"), "layers are: conv1");
  expect_clean_failure(run_prism(base + " --method saliency --steps 4"), "applies to none");
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

}  // namespace
}  // namespace prism
