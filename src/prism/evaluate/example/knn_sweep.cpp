#include "prism/evaluate/example/knn_sweep.h"

#include <chrono>
#include <cstdio>
#include <map>

#include "prism/core/error.h"
#include "prism/core/progress.h"
#include "prism/evaluate/metrics.h"
#include "prism/model/predict.h"

namespace prism {
namespace {

KnnSweepRow score(const ExampleAttribution& attribution, const torch::Tensor& labels,
                  const torch::Tensor& network_predictions) {
  KnnSweepRow row;
  row.knn_accuracy = attribution.predictions.eq(labels).to(torch::kFloat64).mean().item<double>();
  row.network_accuracy = network_predictions.eq(labels).to(torch::kFloat64).mean().item<double>();
  row.agreement = attribution.predictions.eq(network_predictions).to(torch::kFloat64).mean().item<double>();
  row.mean_nonzero = (attribution.weights > 0).sum(1).to(torch::kFloat64).mean().item<double>();
  row.mean_to_half = examples_to_reach(attribution.weights, 0.5).to(torch::kFloat64).mean().item<double>();
  row.mean_to_90 = examples_to_reach(attribution.weights, 0.9).to(torch::kFloat64).mean().item<double>();
  return row;
}

}  // namespace

KnnSweepResult knn_sweep(Network& network, const Dataset& train, const Dataset& validation, const Dataset& test,
                         const KnnSweepOptions& options) {
  require(!options.ks.empty(), "give at least one k");
  const int64_t max_k = *std::max_element(options.ks.begin(), options.ks.end());
  require(*std::min_element(options.ks.begin(), options.ks.end()) >= 1 && max_k <= train.size(),
          "every k must lie between 1 and the " + std::to_string(train.size()) + " training examples");
  require(validation.size() > 0 && test.size() > 0, "the validation and test splits must not be empty");
  const auto layers = options.layers.empty() ? network.layer_names() : options.layers;
  for (const auto& layer : layers) network.layer(layer);  // an unknown layer fails before any work
  std::map<std::string, int64_t> depth;
  for (size_t i = 0; i < network.layers().size(); ++i) depth[network.layers()[i].name] = static_cast<int64_t>(i);

  const auto validation_predictions = predict_logits(network, validation.images).argmax(1);
  const auto test_predictions = predict_logits(network, test.images).argmax(1);
  // Layers are embedded together, one forward pass per batch, in groups whose embeddings fit the budget.
  EmbeddingOptions embedding{"", options.pool, options.metric == "cosine", options.batch_size};
  const auto probe = embed_layers(network, train.images.narrow(0, 0, 1), layers, embedding);
  const double rows = static_cast<double>(train.size() + validation.size() + test.size());
  std::vector<std::vector<size_t>> groups;
  double group_bytes = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const double bytes = rows * static_cast<double>(probe[l].size(1)) * sizeof(float);
    if (groups.empty() || group_bytes + bytes > options.memory_budget_bytes) groups.emplace_back(), group_bytes = 0;
    groups.back().push_back(l);
    group_bytes += bytes;
  }

  KnnSweepResult result;
  double best_accuracy = -1;
  Progress progress("kNN sweep", static_cast<int64_t>(layers.size()), "layers");
  for (const auto& group : groups) {
    std::vector<std::string> names;
    for (const size_t l : group) names.push_back(layers[l]);
    auto start = std::chrono::steady_clock::now();
    auto train_rows = embed_layers(network, train.images, names, embedding);
    auto validation_rows = embed_layers(network, validation.images, names, embedding);
    auto test_rows = embed_layers(network, test.images, names, embedding);
    const double embed_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / names.size();
    for (size_t g = 0; g < names.size(); ++g) {
      const auto& layer = names[g];
      start = std::chrono::steady_clock::now();
      KnnIndexOptions index_options;
      index_options.metric = options.metric;
      const KnnIndex index(std::move(train_rows[g]), index_options);
      const auto validation_neighbours = index.search(validation_rows[g], max_k);
      const auto test_neighbours = index.search(test_rows[g], max_k);
      validation_rows[g] = test_rows[g] = torch::Tensor();
      const double seconds =
          embed_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (const int64_t k : options.ks) {
        EbeOptions ebe;
        ebe.k = k;
        ebe.weights = options.weights;
        auto first_k = [k](const Neighbours& n) {
          return Neighbours{n.indices.narrow(1, 0, k), n.distances.narrow(1, 0, k)};
        };
        for (const bool is_test : {false, true}) {
          const auto& data = is_test ? test : validation;
          auto row = score(attribute_neighbours(first_k(is_test ? test_neighbours : validation_neighbours),
                                                train.labels, train.num_classes(), ebe),
                           data.labels, is_test ? test_predictions : validation_predictions);
          row.layer = layer, row.split = is_test ? "test" : "validation";
          row.depth = depth.at(layer), row.dim = index.dim(), row.k = k, row.seconds = seconds;
          if (!is_test && row.knn_accuracy > best_accuracy)
            best_accuracy = row.knn_accuracy, result.best_layer = layer, result.best_k = k;
          result.rows.push_back(row);
        }
      }
      progress.advance(1, {{"layer", layer}});
    }
  }
  progress.finish({{"best", result.best_layer + ", k = " + std::to_string(result.best_k)}});
  return result;
}

nlohmann::json KnnSweepResult::to_json() const {
  nlohmann::json rows_json = nlohmann::json::array();
  for (const auto& r : rows)
    rows_json.push_back({{"layer", r.layer},
                         {"depth", r.depth},
                         {"dim", r.dim},
                         {"k", r.k},
                         {"split", r.split},
                         {"knn_accuracy", r.knn_accuracy},
                         {"network_accuracy", r.network_accuracy},
                         {"agreement", r.agreement},
                         {"mean_nonzero_weights", r.mean_nonzero},
                         {"mean_examples_to_50_percent", r.mean_to_half},
                         {"mean_examples_to_90_percent", r.mean_to_90},
                         {"seconds", r.seconds}});
  nlohmann::json chosen;
  for (const auto& r : rows)
    if (r.layer == best_layer && r.k == best_k && r.split == "test")
      chosen = {{"layer", best_layer}, {"k", best_k}, {"test_knn_accuracy", r.knn_accuracy},
                {"test_network_accuracy", r.network_accuracy}, {"test_agreement", r.agreement}};
  return {{"chosen_on_validation", chosen}, {"better", metric_directions("knn sweep")}, {"rows", rows_json}};
}

std::string KnnSweepResult::to_csv() const {
  std::string csv =
      "layer,depth,dim,k,split,knn_accuracy,network_accuracy,agreement,mean_nonzero_weights,"
      "mean_examples_to_50_percent,mean_examples_to_90_percent,seconds\n";
  char line[512];
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%s,%lld,%lld,%lld,%s,%.6f,%.6f,%.6f,%.4f,%.4f,%.4f,%.3f\n", r.layer.c_str(),
                  static_cast<long long>(r.depth), static_cast<long long>(r.dim), static_cast<long long>(r.k),
                  r.split.c_str(), r.knn_accuracy, r.network_accuracy, r.agreement, r.mean_nonzero, r.mean_to_half,
                  r.mean_to_90, r.seconds);
    csv += line;
  }
  return csv;
}

std::string KnnSweepResult::table() const {
  std::string out =
      "| layer | dim | k | kNN acc. (test) | network acc. | agreement | examples to 50 % / 90 % | k chosen on val. |\n"
      "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
  char line[512];
  for (const auto& r : rows) {
    if (r.split != "test") continue;
    std::snprintf(line, sizeof line, "| %s | %lld | %lld | %.2f %% | %.2f %% | %.2f %% | %.1f / %.1f | %s |\n",
                  r.layer.c_str(), static_cast<long long>(r.dim), static_cast<long long>(r.k), 100 * r.knn_accuracy,
                  100 * r.network_accuracy, 100 * r.agreement, r.mean_to_half, r.mean_to_90,
                  r.layer == best_layer && r.k == best_k ? "**chosen**" : "");
    out += line;
  }
  return out;
}

}  // namespace prism
