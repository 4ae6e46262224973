#include "prism/evaluate/feature/pixel_removal.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "prism/core/error.h"
#include "prism/explain/feature/integrated_gradients.h"

namespace prism {

namespace {

void check_ranking_choice(const std::string& choice) {
  require(choice == "method" || choice == "signed" || choice == "magnitude",
          "unknown ranking '" + choice + "'; rankings are: method (each method's own), signed, magnitude");
}

}  // namespace

torch::Tensor rank_pixels(const torch::Tensor& maps, const std::string& ranking) {
  require(maps.dim() == 3, "pixel ranking takes collapsed maps [B, H, W], got " + shape_string(maps.sizes()));
  require(ranking == "signed" || ranking == "magnitude",
          "unknown pixel ranking '" + ranking + "'; rankings are: signed, magnitude");
  const auto scores = maps.flatten(1).to(torch::kFloat32);
  return std::get<1>((ranking == "magnitude" ? scores.abs() : scores).sort(/*stable=*/true, /*dim=*/1,
                                                                           /*descending=*/true));
}

std::string resolve_ranking(const std::string& choice, const FeatureAttributor& method) {
  check_ranking_choice(choice);
  return choice == "method" ? method.ranking() : choice;
}

std::string resolve_ranking(const std::string& choice, const std::string& method) {
  check_ranking_choice(choice);
  if (choice != "method") return choice;
  const auto known = feature_methods();
  if (method != "random" && std::find(known.begin(), known.end(), method) == known.end()) return "signed";
  return make_feature_attributor(method)->ranking();
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
