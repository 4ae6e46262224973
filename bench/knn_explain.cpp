// EBE-DNN explanation speed (issue 5): 10,000 Fashion-MNIST test objects against the 60,000 training
// embeddings at a layer of the zoo cnn. prism's search + weighted vote is timed against, in the same run on
// the same arrays, the bare FAISS search (IndexFlatL2) and a brute-force LibTorch matrix product + top-k;
// peak memory is compared with the size of the embedding matrix; the approximate indexes report speed and
// recall@k against the exact search.
//   build/bench/bench_knn_explain [model.prism (default: untrained cnn)] [layer=relu3] [k=10] [repeats=3]
#include <faiss/IndexFlat.h>
#include <prism/prism.h>

#include "bench_util.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

namespace {

using prism::bench::median_seconds;


// Peak resident memory since the last reset, in MiB (Linux: VmHWM, reset through clear_refs).
double peak_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }
double resident_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string model = argc > 1 ? argv[1] : "";
  const std::string layer = argc > 2 ? argv[2] : "relu3";
  const int64_t k = argc > 3 ? std::atoll(argv[3]) : 10;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 3;
  prism::keep_freed_memory();
  prism::set_threads(prism::available_cores());
  prism::set_quiet(true);
  const auto train = prism::load_dataset("fashion-mnist", prism::Split::Train);
  const auto test = prism::load_dataset("fashion-mnist", prism::Split::Test);
  auto network = model.empty() ? prism::make_zoo_network({"cnn"}) : prism::load_network(model, {1, 28, 28});
  network->set_training(false);

  const auto dir = std::filesystem::temp_directory_path() / ("prism-bench-knn-" + std::to_string(getpid()));
  prism::EbeDnn::FitOptions fit_options;
  fit_options.embedding.layer = layer;
  auto start = std::chrono::steady_clock::now();
  const auto fitted = prism::EbeDnn::fit(*network, train, fit_options, dir, {"bench", "x", "bench", 0, 0});
  const double fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto queries = prism::embed(*network, test.images, fitted.embedding_options());
  const auto rows = prism::map_npy(dir / "embeddings.npy");
  const double matrix_mib = rows.numel() * 4.0 / (1 << 20);
  std::printf("model %s, layer %s: %lld x %lld training embeddings (%.1f MiB), %lld queries, k = %lld; fit %.1f s\n\n",
              model.empty() ? "untrained cnn" : model.c_str(), layer.c_str(), static_cast<long long>(rows.size(0)),
              static_cast<long long>(rows.size(1)), matrix_mib, static_cast<long long>(queries.size(0)),
              static_cast<long long>(k), fit_seconds);

  // prism: exact search + weights + vote, on the memory-mapped cache.
  prism::EbeOptions ebe;
  ebe.k = k;
  reset_peak();
  const double rss_before = resident_mib();
  prism::ExampleAttribution attribution;
  const double prism_seconds = median_seconds(repeats, [&] {
    attribution = prism::attribute_neighbours(fitted.index().search(queries, k), fitted.train_labels(),
                                              fitted.num_classes(), ebe);
  });
  const double prism_peak = peak_mib() - rss_before;

  // Bare FAISS: the same exact search through IndexFlatL2 (which copies the matrix into the index).
  faiss::IndexFlatL2 flat(rows.size(1));
  flat.add(rows.size(0), rows.data_ptr<float>());
  auto distances = torch::empty({queries.size(0), k}), labels = torch::empty({queries.size(0), k}, torch::kInt64);
  const double faiss_seconds = median_seconds(repeats, [&] {
    flat.search(queries.size(0), queries.data_ptr<float>(), k, distances.data_ptr<float>(), labels.data_ptr<int64_t>());
  });
  const double agreement = prism::recall_at_k(attribution.indices, labels);

  // Brute force in LibTorch: ‖a‖² + ‖b‖² − 2ab by matrix product, then top-k, 1,000 queries at a time.
  const auto norms = rows.pow(2).sum(1);
  const double torch_seconds = median_seconds(repeats, [&] {
    for (int64_t s = 0; s < queries.size(0); s += 1000) {
      const auto q = queries.narrow(0, s, std::min<int64_t>(1000, queries.size(0) - s));
      const auto d = q.pow(2).sum(1, true) + norms.unsqueeze(0) - 2 * q.matmul(rows.t());
      d.topk(k, 1, false);
    }
  });

  std::printf("| search of %lld queries | seconds | queries / s | ratio to bare FAISS |\n| --- | --- | --- | --- |\n",
              static_cast<long long>(queries.size(0)));
  std::printf("| prism (exact search + weights + vote) | %.3f | %.0f | %.3f |\n", prism_seconds,
              queries.size(0) / prism_seconds, prism_seconds / faiss_seconds);
  std::printf("| bare FAISS IndexFlatL2 | %.3f | %.0f | 1.000 |\n", faiss_seconds, queries.size(0) / faiss_seconds);
  std::printf("| LibTorch matmul + top-k | %.3f | %.0f | %.3f |\n\n", torch_seconds, queries.size(0) / torch_seconds,
              torch_seconds / faiss_seconds);
  std::printf("prism's neighbours = FAISS's: %.4f of them; prism's peak memory growth during the search %.1f MiB "
              "(%.2f x the %.1f MiB embedding matrix)\n\n",
              agreement, prism_peak, prism_peak / matrix_mib, matrix_mib);

  std::printf("| index | build s | search s | queries / s | recall@%lld |\n| --- | --- | --- | --- | --- |\n",
              static_cast<long long>(k));
  for (const std::string kind : {"ivf", "hnsw"}) {
    prism::KnnIndexOptions options;
    options.kind = kind;
    prism::KnnIndex index(rows, options);
    start = std::chrono::steady_clock::now();
    index.build();
    const double build = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    prism::Neighbours found;
    const double seconds = median_seconds(repeats, [&] { found = index.search(queries, k); });
    std::printf("| %s | %.2f | %.3f | %.0f | %.4f |\n", kind.c_str(), build, seconds, queries.size(0) / seconds,
                prism::recall_at_k(found.indices, attribution.indices));
  }
  std::filesystem::remove_all(dir);
}
