#include "prism/explain/example/embedding.h"

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/core/progress.h"
#include "prism/core/ranks.h"
#include "prism/core/shared_file.h"
#include "prism/io/npy.h"
#include "prism/model/inference.h"

namespace prism {

void check_embedding_options(const Network& network, const EmbeddingOptions& options) {
  network.layer(options.layer);  // throws, listing the layers, if there is none
  require(options.pool == "flatten" || options.pool == "avg",
          "unknown pooling '" + options.pool + "'; use flatten or avg");
  require(options.batch_size >= 1, "the embedding batch size must be at least 1");
}

namespace {

torch::Tensor to_rows(torch::Tensor activation, const EmbeddingOptions& options) {
  activation = activation.to(torch::kFloat32);
  if (options.pool == "avg" && activation.dim() == 4) activation = activation.mean({2, 3});
  auto rows = activation.flatten(1).to(torch::kCPU).contiguous();
  if (options.unit_length) rows = rows / rows.norm(2, 1, true).clamp_min(1e-12);
  return rows;
}

InferenceOptions inference_options(const EmbeddingOptions& options) {
  InferenceOptions inference;
  inference.batch_size = options.batch_size;
  return inference;
}

}  // namespace

torch::Tensor embed(Network& network, const torch::Tensor& images, const EmbeddingOptions& options) {
  return embed_layers(network, images, {options.layer}, options).at(0);
}

std::vector<torch::Tensor> embed_layers(Network& network, const torch::Tensor& images,
                                        const std::vector<std::string>& layers, const EmbeddingOptions& options) {
  for (const auto& layer : layers) {
    auto per_layer = options;
    per_layer.layer = layer;
    check_embedding_options(network, per_layer);
  }
  std::vector<std::vector<torch::Tensor>> parts(layers.size());
  InferencePass(network, layers, inference_options(options))
      .for_each_batch(images, [&](int64_t, const std::vector<torch::Tensor>& activations) {
        for (size_t l = 0; l < layers.size(); ++l) parts[l].push_back(to_rows(activations[l], options));
      });
  std::vector<torch::Tensor> out;
  for (auto& part : parts) out.push_back(part.empty() ? torch::empty({0, 0}) : torch::cat(part));
  return out;
}

void write_embeddings(Network& network, const Dataset& data, const EmbeddingOptions& options,
                      const std::filesystem::path& path) {
  require(data.size() > 0, data.name + " is empty; nothing to embed");
  const int64_t dim = embed(network, data.images.narrow(0, 0, 1), options).size(1);
  // Over MPI ranks each embeds its share of whole batches, compiled as one process over all of them would be, so
  // every row is the one a single process writes.
  const auto mine = ranks::share(data.size(), options.batch_size);
  auto inference = inference_options(options);
  inference.pass_images = data.size();
  Progress progress("embed " + data.name + " at " + options.layer, mine.size());
  InferencePass pass(network, {options.layer}, inference);
  const auto header = npy_header(torch::kFloat32, {data.size(), dim});
  const uint64_t row_bytes = dim * sizeof(float);
  SharedFileWriter file(path, header.size() + data.size() * row_bytes);
  if (ranks::is_root()) file.write(0, header.data(), header.size());
  pass.for_each_batch(data.images.narrow(0, mine.begin, mine.size()),
                      [&](int64_t start, const std::vector<torch::Tensor>& activations) {
                        const auto rows = to_rows(activations[0], options);
                        file.write(header.size() + (mine.begin + start) * row_bytes, rows.data_ptr(),
                                   rows.size(0) * row_bytes);
                        progress.advance(rows.size(0));
                      });
  file.commit();
  progress.finish({{"dim", std::to_string(dim)}});
}

}  // namespace prism
