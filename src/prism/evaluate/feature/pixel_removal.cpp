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
  require(maps.dim() == 3 || maps.dim() == 2,
          "pixel ranking takes collapsed maps [B, H, W], [B, T] or table rows' maps [B, F], got " +
              shape_string(maps.sizes()));
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
  throw Error("unknown fill '" + fill + "'; fills are: mean, zero, blur, noise, linear (ROAD's imputation)");
}

torch::Tensor removal_mask(const torch::Tensor& ranking, int64_t count, bool from_top, at::IntArrayRef image_shape) {
  const int64_t batch = image_shape[0], pixels = removable_positions(image_shape);
  require(ranking.dim() == 2 && ranking.size(0) == batch && ranking.size(1) == pixels,
          "the ranking must hold every pixel of every image");
  require(count >= 0 && count <= pixels, "cannot remove " + std::to_string(count) + " of " + std::to_string(pixels) + " pixels");
  const auto chosen = from_top ? ranking.narrow(1, 0, count) : ranking.narrow(1, pixels - count, count);
  auto removed = torch::zeros({batch, pixels}, torch::kBool).to(ranking.device());
  removed.scatter_(1, chosen, true);
  if (image_shape.size() == 2) return removed;  // table rows: one value per feature
  auto shape = map_shape(image_shape);          // a position's channels go together
  shape.insert(shape.begin() + 1, 1);
  return removed.view(shape);
}

int64_t removable_positions(at::IntArrayRef image_shape) {
  const auto shape = map_shape(image_shape);
  int64_t positions = 1;
  for (size_t d = 1; d < shape.size(); ++d) positions *= shape[d];
  return positions;
}

torch::Tensor remove_pixels(const torch::Tensor& images, const torch::Tensor& ranking, int64_t count,
                            const torch::Tensor& fill, bool from_top) {
  return torch::where(removal_mask(ranking, count, from_top, images.sizes()).to(images.device()), fill, images);
}

torch::Tensor impute_linear(const torch::Tensor& images, const torch::Tensor& removed, double noise, uint64_t seed) {
  require(images.dim() == 4 && removed.dim() == 4 && removed.size(0) == images.size(0) && removed.size(1) == 1 &&
              removed.size(2) == images.size(2) && removed.size(3) == images.size(3),
          "the removal mask must be [B, 1, H, W] for images " + shape_string(images.sizes()));
  namespace F = torch::nn::functional;
  const auto x = images.to(torch::kFloat64);
  const auto hole = removed.to(x.options()).expand_as(x);
  const int64_t channels = x.size(1);
  const double d = 1.0 / 6, c = 1.0 / 12;
  const auto kernel = torch::tensor({c, d, c, d, 0.0, d, c, d, c}, x.options()).view({1, 1, 3, 3}).repeat({channels, 1, 1, 1});
  const auto neighbours = [&](const torch::Tensor& v) {
    return F::conv2d(v, kernel, F::Conv2dFuncOptions().padding(1).groups(channels));
  };
  const auto weight = neighbours(torch::ones_like(x));  // the weight of each pixel's neighbours inside the image
  // On the removed pixels: weight · v − Σ (removed neighbours' weight · v) = Σ (kept neighbours' weight · x).
  const auto apply = [&](const torch::Tensor& v) { return hole * (weight * v - neighbours(hole * v)); };
  const auto right = hole * neighbours((1 - hole) * x);
  const auto dot = [](const torch::Tensor& a, const torch::Tensor& b) { return (a * b).sum({2, 3}, /*keepdim=*/true); };
  auto solution = torch::zeros_like(x), residual = right.clone(), direction = right.clone();
  auto squared = dot(residual, residual);
  const auto tolerance = 1e-20 * dot(right, right) + 1e-30;
  const int64_t unknowns = x.size(2) * x.size(3);  // conjugate gradients end in at most this many steps
  for (int64_t step = 0; step < unknowns && (squared > tolerance).any().item<bool>(); ++step) {
    const auto image = apply(direction);
    const auto curvature = dot(direction, image);
    const auto length = torch::where(curvature > 0, squared / curvature.clamp_min(1e-300), torch::zeros_like(squared));
    solution += length * direction;
    residual -= length * image;
    const auto next = dot(residual, residual);
    direction = residual + torch::where(squared > 0, next / squared.clamp_min(1e-300), torch::zeros_like(next)) * direction;
    squared = next;
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto jitter = noise * torch::randn(x.sizes(), generator, torch::kFloat64).to(x.device());
  return torch::where(removed.expand_as(images), (solution + jitter).to(images.dtype()), images);
}

}  // namespace prism
