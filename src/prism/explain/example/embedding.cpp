#include "prism/explain/example/embedding.h"

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/core/progress.h"
#include "prism/io/npy.h"

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

}  // namespace

torch::Tensor embed(Network& network, const torch::Tensor& images, const EmbeddingOptions& options) {
  check_embedding_options(network, options);
  torch::NoGradGuard no_grad;
  return to_rows(network.activation(images.to(network.device()), options.layer), options);
}

std::vector<torch::Tensor> embed_layers(Network& network, const torch::Tensor& images,
                                        const std::vector<std::string>& layers, const EmbeddingOptions& options) {
  std::vector<std::vector<torch::Tensor>> parts(layers.size());
  std::vector<torch::Tensor> captured(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    auto per_layer = options;
    per_layer.layer = layers[l];
    check_embedding_options(network, per_layer);
  }
  torch::NoGradGuard no_grad;
  for (int64_t start = 0; start < images.size(0); start += options.batch_size) {
    TapSet taps;
    for (size_t l = 0; l < layers.size(); ++l) taps.capture(layers[l], &captured[l]);
    network.forward(images.narrow(0, start, std::min(options.batch_size, images.size(0) - start)).to(network.device()),
                    taps);
    for (size_t l = 0; l < layers.size(); ++l) {
      require(captured[l].defined(), "layer '" + layers[l] + "' was not reached in the forward pass (inside a branch?)");
      parts[l].push_back(to_rows(captured[l], options));
    }
  }
  std::vector<torch::Tensor> out;
  for (auto& part : parts) out.push_back(part.empty() ? torch::empty({0, 0}) : torch::cat(part));
  return out;
}

void write_embeddings(Network& network, const Dataset& data, const EmbeddingOptions& options,
                      const std::filesystem::path& path) {
  require(data.size() > 0, data.name + " is empty; nothing to embed");
  const int64_t dim = embed(network, data.images.narrow(0, 0, 1), options).size(1);
  Progress progress("embed " + data.name + " at " + options.layer, data.size());
  write_file_atomic(path, [&](std::ostream& out) {
    out << npy_header(torch::kFloat32, {data.size(), dim});
    for (int64_t start = 0; start < data.size(); start += options.batch_size) {
      const int64_t count = std::min(options.batch_size, data.size() - start);
      const auto rows = embed(network, data.images.narrow(0, start, count), options);
      out.write(static_cast<const char*>(rows.data_ptr()), rows.numel() * sizeof(float));
      progress.advance(count);
    }
  });
  progress.finish({{"dim", std::to_string(dim)}});
}

}  // namespace prism
