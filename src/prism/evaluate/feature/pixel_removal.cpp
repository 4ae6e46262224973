#include "prism/evaluate/feature/pixel_removal.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prism/core/error.h"
#include "prism/explain/feature/integrated_gradients.h"

namespace prism {

torch::Tensor rank_pixels(const torch::Tensor& maps) {
  require(maps.dim() == 3, "pixel ranking takes collapsed maps [B, H, W], got " + shape_string(maps.sizes()));
  return std::get<1>(maps.flatten(1).to(torch::kFloat32).sort(/*stable=*/true, /*dim=*/1, /*descending=*/true));
}

torch::Tensor fill_values(const Network& network, const torch::Tensor& images, const std::string& fill, uint64_t seed) {
  if (fill == "mean")
    require(!network.normalization().empty(),
            "the model records no data mean for the mean fill (a scripted model does not); use the zero, blur or "
            "noise fill");
  if (fill == "mean" || fill == "zero") return make_baseline(network, images, fill == "mean" ? "mean" : "zeros", 0);
  if (fill == "blur") return make_baseline(network, images, "blur", 2.0);
  if (fill == "noise") {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return torch::rand(images.sizes(), generator, torch::kFloat32).to(images.device());
  }
  throw Error("unknown fill '" + fill + "'; fills are: mean, zero, blur, noise");
}

torch::Tensor remove_pixels(const torch::Tensor& images, const torch::Tensor& ranking, int64_t count,
                            const torch::Tensor& fill, bool from_top) {
  const int64_t pixels = images.size(2) * images.size(3);
  require(ranking.dim() == 2 && ranking.size(0) == images.size(0) && ranking.size(1) == pixels,
          "the ranking must hold every pixel of every image");
  require(count >= 0 && count <= pixels, "cannot remove " + std::to_string(count) + " of " + std::to_string(pixels) + " pixels");
  const auto chosen = from_top ? ranking.narrow(1, 0, count) : ranking.narrow(1, pixels - count, count);
  auto removed = torch::zeros({images.size(0), pixels}, torch::kBool).to(images.device());
  removed.scatter_(1, chosen, true);
  const auto mask = removed.view({images.size(0), 1, images.size(2), images.size(3)});
  return torch::where(mask, fill, images);
}

}  // namespace prism
