// Pictures of sequences [C, T] and their attributions over time: the input drawn on a time axis (up to four
// channels as lines, each scaled to its own range; more channels as a grey grid of C rows, time to the right),
// and a collapsed attribution map [T] as a colour strip on the same axis, with its colour bar.
#pragma once
#include <torch/torch.h>

#include <string>

namespace prism {

// The sequence alone, titled.
torch::Tensor sequence_picture(const torch::Tensor& sequence, const std::string& title = "");

// An image [C, H, W] (enlarged `scale` times, as image_picture) or a sequence [C, T] (as sequence_picture).
torch::Tensor sample_picture(const torch::Tensor& sample, int64_t scale, const std::string& title = "");

// The sequence with `map` [T] under it.
torch::Tensor sequence_map_picture(const torch::Tensor& sequence, const torch::Tensor& map, const std::string& title = "");

// `map` [T] alone as a titled colour strip, as wide as sequence_picture draws T steps.
torch::Tensor sequence_strip_picture(const torch::Tensor& map, const std::string& title = "");

}  // namespace prism
