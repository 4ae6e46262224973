// Built-in architectures. Each ReLU is a distinct, addressable layer.
//   mlp       flatten → fc1(width) → relu1 → fc2(width/2) → relu2 → fc3
//   cnn       conv1(32, 3×3) → relu1 → conv2(64, 3×3) → relu2 → pool(2) → dropout1(0.25) → flatten →
//             fc1(128) → relu3 → dropout2(0.5) → fc2: PyTorch's MNIST network, the size the FLINT paper
//             (Parekh et al. 2021, App. A) uses for MNIST-like data
//   cnn1d     the cnn for sequences [C, T]: conv1(32, 5) → relu1 → pool1(2) → conv2(64, 5) → relu2 → pool2(2) →
//             dropout1(0.25) → flatten → fc1(128) → relu3 → dropout2(0.5) → fc2 (convolutions padded to keep the length)
//   resnet18  He et al. 2016 with a CIFAR-style 3×3 stem and no max-pool; [2, 2, 2, 2] basic blocks of
//             widths w, 2w, 4w, 8w (w = --width, 64 in the paper; 16 trains on 2 cores)
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/model/network.h"

namespace prism {

struct ZooOptions {
  // "": the default for the input: the cnn for images [C, H, W], the cnn1d for sequences [C, T], the mlp for tables [F]
  std::string architecture;
  std::vector<int64_t> input_shape = {1, 28, 28};
  int64_t num_classes = 10;
  int64_t width = 0;  // 0: the architecture's default (mlp 256, resnet18 16; cnn has fixed widths)
  uint64_t seed = 0;  // initial weights
};

// The built-in architectures, and the same comma-separated (for help and errors).
std::vector<std::string> zoo_architectures();
std::string joined_architectures();

// A freshly initialised built-in network; an unknown name is an error listing the known ones.
std::unique_ptr<Network> make_zoo_network(ZooOptions options);
// The same for `data`: its input shape and classes replace the options', and its class names and normalisation
// are recorded, as a network trained on it needs.
std::unique_ptr<Network> make_zoo_network(ZooOptions options, const Dataset& data);
// The same shaped like `trained` (its input, classes, class names and normalisation): a fresh copy to retrain.
std::unique_ptr<Network> make_zoo_network(ZooOptions options, const Network& trained);

// The options a built-in network was made with (for saving it); throws if `network` is not built-in.
const ZooOptions& zoo_options(const Network& network);

// Parameters and buffers by stable name, for saving and loading weights.
std::vector<std::pair<std::string, torch::Tensor>> zoo_state(Network& network);

}  // namespace prism
