#include "prism/explain/feature/occlusion.h"

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/explain/feature/gradient.h"

namespace prism {

Occlusion::Occlusion(OcclusionOptions options) : options_(options) {
  require(options_.patch >= 1, "occlusion: patch must be at least 1");
  require(options_.stride >= 1, "occlusion: stride must be at least 1");
  require(options_.internal_batch_size >= 1, "occlusion: internal_batch_size must be at least 1");
}

nlohmann::json Occlusion::options() const { return options_json(options_); }

// The occluded copies of every input and the inputs themselves: one forward-only pass, compiled where it is large.
InferencePass Occlusion::scoring_pass(Network& network, int64_t copies) const {
  InferenceOptions inference;
  inference.batch_size = options_.internal_batch_size;
  inference.pass_images = copies;
  return InferencePass(network, {}, inference);
}

// Table rows [B, F]: each feature set to `fill` alone; its attribution is the target's drop.
torch::Tensor Occlusion::occlude_features(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  auto pass = scoring_pass(network, inputs.size(0) * (inputs.size(1) + 1));
  const auto reference = target_scores(pass, inputs, targets);
  const int64_t features = inputs.size(1);
  auto total = torch::zeros_like(inputs);
  const int64_t per_chunk = std::max<int64_t>(1, options_.internal_batch_size / inputs.size(0));
  for (int64_t start = 0; start < features; start += per_chunk) {
    const int64_t chunk = std::min(per_chunk, features - start);
    std::vector<torch::Tensor> copies;
    for (int64_t f = start; f < start + chunk; ++f) copies.push_back(inputs.clone().index_fill_(1, torch::tensor({f}), options_.fill));
    const auto scores = target_scores(pass, torch::cat(copies), targets.repeat({chunk})).view({chunk, inputs.size(0)});
    total.narrow(1, start, chunk).copy_((reference.unsqueeze(0) - scores).t());
  }
  return total;
}

torch::Tensor Occlusion::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  if (inputs.dim() == 2) return occlude_features(network, inputs, targets);
  // A sequence [B, C, T] is occluded as an image one pixel high: windows of `patch` steps, every channel at once.
  const bool sequence = inputs.dim() == 3;
  const auto images = sequence ? inputs.unsqueeze(2) : inputs;
  const int64_t height = images.size(2), width = images.size(3), patch = options_.patch;
  const int64_t patch_height = sequence ? 1 : patch;
  require(patch <= width && patch_height <= height,
          "the occlusion patch (" + std::to_string(patch) + (sequence ? " steps" : " pixels") + ") is larger than the " +
              (sequence ? std::to_string(width) + "-step sequences" : std::to_string(height) + "x" + std::to_string(width) + " images"));
  std::vector<std::pair<int64_t, int64_t>> corners;  // every patch position, the last flush with the border
  auto positions = [&](int64_t size, int64_t extent) {
    std::vector<int64_t> out;
    for (int64_t p = 0; p + extent <= size; p += options_.stride) out.push_back(p);
    if (out.back() + extent < size) out.push_back(size - extent);
    return out;
  };
  for (auto top : positions(height, patch_height))
    for (auto left : positions(width, patch)) corners.emplace_back(top, left);
  auto pass = scoring_pass(network, inputs.size(0) * static_cast<int64_t>(corners.size() + 1));
  const auto reference = target_scores(pass, inputs, targets);
  auto total = torch::zeros_like(images), count = torch::zeros({1, 1, height, width}, inputs.options());
  using torch::indexing::Slice;
  for (const auto& [top, left] : corners)
    count.index({0, 0, Slice(top, top + patch_height), Slice(left, left + patch)}) += 1;
  const int64_t per_chunk = std::max<int64_t>(1, options_.internal_batch_size / inputs.size(0));
  for (size_t start = 0; start < corners.size(); start += per_chunk) {
    const size_t end = std::min(corners.size(), start + per_chunk);
    std::vector<torch::Tensor> copies;
    for (size_t i = start; i < end; ++i) {
      auto copy = images.clone();
      copy.index_put_({Slice(), Slice(), Slice(corners[i].first, corners[i].first + patch_height),
                       Slice(corners[i].second, corners[i].second + patch)},
                      options_.fill);
      copies.push_back(sequence ? copy.squeeze(2) : copy);
    }
    const int64_t chunk = static_cast<int64_t>(end - start);
    const auto scores = target_scores(pass, torch::cat(copies), targets.repeat({chunk})).view({chunk, inputs.size(0)});
    for (int64_t i = 0; i < chunk; ++i) {
      const auto [top, left] = corners[start + i];
      const auto drop = (reference - scores[i]).view({-1, 1, 1, 1});
      total.index({Slice(), Slice(), Slice(top, top + patch_height), Slice(left, left + patch)}) += drop;
    }
  }
  const auto map = total / count;
  return sequence ? map.squeeze(2) : map;
}

}  // namespace prism
