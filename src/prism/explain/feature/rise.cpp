#include "prism/explain/feature/rise.h"

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/model/inference.h"

namespace prism {

torch::Tensor rise_masks(const RiseOptions& options, int64_t height, int64_t width, int64_t first, int64_t count) {
  require(first >= 0 && count >= 0 && first + count <= options.masks, "RISE: masks outside the set asked for");
  // Every grid and shift is drawn, so that a mask does not depend on which others are asked for.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const auto grids = torch::bernoulli(torch::full({options.masks, 1, options.grid, options.grid}, options.keep), generator);
  const int64_t cell_h = (height + options.grid - 1) / options.grid, cell_w = (width + options.grid - 1) / options.grid;
  const auto shift_y = torch::randint(0, cell_h, {options.masks}, generator, torch::kInt64);
  const auto shift_x = torch::randint(0, cell_w, {options.masks}, generator, torch::kInt64);
  const auto upsampled = torch::nn::functional::interpolate(
      grids.narrow(0, first, count),
      torch::nn::functional::InterpolateFuncOptions()
          .size(std::vector<int64_t>{(options.grid + 1) * cell_h, (options.grid + 1) * cell_w})
          .mode(torch::kBilinear)
          .align_corners(false));
  auto out = torch::empty({count, height, width});
  for (int64_t i = 0; i < count; ++i)
    out[i] = upsampled[i][0]
                 .narrow(0, shift_y[first + i].item<int64_t>(), height)
                 .narrow(1, shift_x[first + i].item<int64_t>(), width);
  return out;
}

Rise::Rise(RiseOptions options) : options_(std::move(options)) {
  require(options_.masks >= 1, "rise: masks must be at least 1");
  require(options_.grid >= 1, "rise: grid must be at least 1");
  require(options_.keep > 0 && options_.keep <= 1, "rise: keep must be in (0, 1]");
  require(options_.score == "probability" || options_.score == "logit",
          "rise: unknown score '" + options_.score + "'; use probability or logit");
  require(options_.internal_batch_size >= 1, "rise: internal_batch_size must be at least 1");
}

nlohmann::json Rise::options() const { return options_json(options_); }

torch::Tensor Rise::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  require(inputs.dim() == 4, "rise masks images with smooth upsampled grids, which " + sample_noun(inputs.dim() - 1) +
                                 "s do not have; use occlusion, integrated-gradients or another feature method");
  torch::NoGradGuard no_grad;
  network.set_training(false);
  const int64_t batch = inputs.size(0), height = inputs.size(2), width = inputs.size(3);
  const int64_t per_chunk = std::max<int64_t>(1, options_.internal_batch_size / batch);
  auto saliency = torch::zeros({batch, height, width}, inputs.options());
  // Every chunk is a part of one forward-only pass over masks × batch images, compiled where that is large.
  InferenceOptions inference;
  inference.pass_images = options_.masks * batch;
  InferencePass pass(network, {}, inference);
  for (int64_t first = 0; first < options_.masks; first += per_chunk) {
    const int64_t count = std::min(per_chunk, options_.masks - first);
    const auto masks = rise_masks(options_, height, width, first, count).to(inputs.device());  // [K, H, W]
    // Copies ordered mask-major: [K · B, C, H, W].
    const auto copies = (masks.view({count, 1, 1, height, width}) * inputs.unsqueeze(0)).flatten(0, 1);
    auto logits = pass.run(copies)[0].to(inputs.device());
    if (options_.score == "probability") logits = logits.softmax(1);
    const auto scores = logits.gather(1, targets.repeat({count}).view({-1, 1})).view({count, batch});
    saliency += torch::einsum("kb,khw->bhw", {scores, masks});
  }
  saliency /= options_.masks * options_.keep;
  return saliency.unsqueeze(1).expand_as(inputs).contiguous();
}

}  // namespace prism
