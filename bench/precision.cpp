// bf16 against float32 on a trained model (issue 17): the speed of the forward-only passes and how far their
// results move — test accuracy and the predictions that change, the embeddings' relative error, the kNN
// neighbours that stay (top-k overlap, EBE-DNN's search on each precision's embeddings), and DualView's
// explanations (fitted once on each precision's penultimate features: Spearman rank correlation of each test
// point's attributions over the training samples either fit gives weight, and top-10 proponent overlap). In one process, the same data.
//   build/bench/bench_precision [model.prism=runs/demo/model.prism] [queries=1000] [k=10]
#include <prism/prism.h>

#include <chrono>
#include <cstdio>

#include "bench_util.h"

namespace {

using prism::Precision;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double relative_error(const torch::Tensor& approximate, const torch::Tensor& exact) {
  return ((approximate - exact).norm() / exact.norm()).item<double>();
}

// Mean over rows of the Spearman rank correlation of two [B, N] score matrices, over the entries nonzero in either
// row (DualView's attributions are zero outside its support vectors: ties that would say nothing).
double spearman(const torch::Tensor& a, const torch::Tensor& b) {
  const auto ranks = [](const torch::Tensor& x) {
    auto r = x.argsort().argsort().to(torch::kFloat64);
    return r - r.mean();
  };
  double total = 0;
  for (int64_t row = 0; row < a.size(0); ++row) {
    const auto nonzero = (a[row] != 0).logical_or(b[row] != 0);
    const auto ra = ranks(a[row].masked_select(nonzero)), rb = ranks(b[row].masked_select(nonzero));
    total += ((ra * rb).sum() / (ra.norm() * rb.norm())).item<double>();
  }
  return total / a.size(0);
}

// The fraction of each row's top-k entries of `a` that are among the top-k of `b`.
double top_overlap(const torch::Tensor& a, const torch::Tensor& b, int64_t k) {
  return prism::recall_at_k(std::get<1>(a.topk(k, 1)), std::get<1>(b.topk(k, 1)));
}

struct PassResult {
  torch::Tensor output;
  double images_per_second;
};

template <typename F>
PassResult timed(Precision precision, int64_t images, F&& pass) {
  const prism::PrecisionScope scope(precision);
  const auto start = std::chrono::steady_clock::now();
  auto output = pass();
  return {output, images / seconds_since(start)};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string model = argc > 1 ? argv[1] : "runs/demo/model.prism";
  const int64_t queries = argc > 2 ? std::atol(argv[2]) : 1000;
  const int64_t k = argc > 3 ? std::atol(argv[3]) : 10;
  prism::keep_freed_memory();
  prism::set_threads(prism::available_cores());
  if (!prism::cpu_has_bf16()) std::printf("note: this CPU has no bf16 instructions; bf16 runs slower here\n");
  const auto train = prism::load_dataset("fashion-mnist", prism::Split::Train);
  const auto test = prism::load_dataset("fashion-mnist", prism::Split::Test);
  auto network = prism::load_network(model);
  network->set_training(false);

  std::printf("| measure | fp32 | bf16 | agreement |\n| --- | --- | --- | --- |\n");
  // Predictions of the 10,000 test images.
  const auto predict = [&] { return prism::predict_logits(*network, test.images, 256); };
  const auto logits = timed(Precision::kFloat32, test.size(), predict);
  const auto logits16 = timed(Precision::kBFloat16, test.size(), predict);
  const auto accuracy = [&](const torch::Tensor& l) { return l.argmax(1).eq(test.labels).to(torch::kFloat64).mean().item<double>(); };
  std::printf("| test accuracy (10,000 images) | %.4f | %.4f | %.2f %% of predictions the same |\n",
              accuracy(logits.output), accuracy(logits16.output),
              100 * logits.output.argmax(1).eq(logits16.output.argmax(1)).to(torch::kFloat64).mean().item<double>());
  std::printf("| prediction pass, img/s | %.0f | %.0f | logits' relative error %.1e |\n", logits.images_per_second,
              logits16.images_per_second, relative_error(logits16.output, logits.output));

  // Embeddings at the penultimate layer and EBE-DNN's exact kNN search.
  prism::EmbeddingOptions embedding;
  embedding.layer = prism::penultimate_layer(*network);
  const auto embed = [&] { return prism::embed(*network, train.images, embedding); };
  const auto rows = timed(Precision::kFloat32, train.size(), embed);
  const auto rows16 = timed(Precision::kBFloat16, train.size(), embed);
  std::printf("| embedding pass of 60,000 images at %s, img/s | %.0f | %.0f | relative error %.1e |\n",
              embedding.layer.c_str(), rows.images_per_second, rows16.images_per_second,
              relative_error(rows16.output, rows.output));
  const auto test_images = test.images.narrow(0, 0, queries);
  torch::Tensor query, query16;
  {
    const prism::PrecisionScope fp32(Precision::kFloat32);
    query = prism::embed(*network, test_images, embedding);
  }
  {
    const prism::PrecisionScope bf16(Precision::kBFloat16);
    query16 = prism::embed(*network, test_images, embedding);
  }
  prism::KnnIndex index(rows.output, {}), index16(rows16.output, {});
  const auto neighbours = index.search(query, k), neighbours16 = index16.search(query16, k);
  std::printf("| kNN top-%lld of %lld test images | | | overlap %.4f |\n", static_cast<long long>(k),
              static_cast<long long>(queries), prism::recall_at_k(neighbours16.indices, neighbours.indices));

  // DualView fitted on each precision's penultimate features, explaining the test images' predictions.
  const auto explained = test.images.narrow(0, 0, std::min<int64_t>(queries, 100));
  const auto targets = logits.output.narrow(0, 0, explained.size(0)).argmax(1);
  const auto dualview = [&](Precision precision, double& fit_seconds) {
    const prism::PrecisionScope scope(precision);
    auto attributor = prism::make_data_attributor("dualview", nlohmann::json::object());
    const auto start = std::chrono::steady_clock::now();
    attributor->fit(*network, train);
    fit_seconds = seconds_since(start);
    return attributor->attribute(*network, explained, targets);
  };
  double fit_seconds = 0, fit_seconds16 = 0;
  const auto scores = dualview(Precision::kFloat32, fit_seconds);
  const auto scores16 = dualview(Precision::kBFloat16, fit_seconds16);
  std::printf("| DualView fit (features + solver), s | %.1f | %.1f | |\n", fit_seconds, fit_seconds16);
  std::printf("| DualView attributions of %lld test images | | | Spearman %.4f, top-10 proponents overlap %.4f |\n",
              static_cast<long long>(explained.size(0)), spearman(scores16, scores), top_overlap(scores16, scores, 10));
  return 0;
}
