// Embeddings of images at a named layer (EBE-DNN, seed 000, step 1): the layer's output flattened, or
// averaged over space for conv maps, optionally scaled to unit length for cosine search.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/model/network.h"

namespace prism {

struct EmbeddingOptions {
  std::string layer;
  std::string pool = "flatten";  // "flatten" | "avg" (global average over space of a [B, C, H, W] map)
  bool unit_length = false;      // divide each row by its L2 norm (cosine metric)
  int64_t batch_size = 256;
};

// Checks the options against the network (layer exists, pool known); errors list the choices.
void check_embedding_options(const Network& network, const EmbeddingOptions& options);

// Embeddings [B, D] float32 of `images` [B, C, H, W] in [0, 1], without autograd.
torch::Tensor embed(Network& network, const torch::Tensor& images, const EmbeddingOptions& options);

// Embeddings of `images` at several layers from one forward pass per batch: one [B, D_l] tensor per layer
// (`options.layer` is ignored).
std::vector<torch::Tensor> embed_layers(Network& network, const torch::Tensor& images,
                                        const std::vector<std::string>& layers, const EmbeddingOptions& options);

// Embeds `data` batch by batch straight into a float32 .npy file [N, D] (atomically), so the
// training set's embedding never has to fit in memory; read it back with map_npy. Shows progress.
void write_embeddings(Network& network, const Dataset& data, const EmbeddingOptions& options,
                      const std::filesystem::path& path);

}  // namespace prism
