#include "prism/data/dataset.h"

#include "prism/core/error.h"

namespace prism {

std::vector<std::string> feature_labels(const std::vector<std::string>& names, int64_t count) {
  if (!names.empty()) return names;
  std::vector<std::string> labels;
  for (int64_t f = 0; f < count; ++f) labels.push_back("f" + std::to_string(f));
  return labels;
}

std::string shape_string(at::IntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

std::vector<int64_t> map_shape(at::IntArrayRef batch_shape) {
  require(batch_shape.size() >= 2 && batch_shape.size() <= 4,
          "samples must be images [B, C, H, W], sequences [B, C, T] or table rows [B, F], got " +
              shape_string(batch_shape));
  if (batch_shape.size() == 2) return batch_shape.vec();
  std::vector<int64_t> out = {batch_shape[0]};
  out.insert(out.end(), batch_shape.begin() + 2, batch_shape.end());
  return out;
}

std::string sample_noun(size_t sample_dims) { return sample_dims == 3 ? "image" : sample_dims == 2 ? "sequence" : "table row"; }

std::vector<int64_t> Dataset::sample_shape() const {
  const auto sizes = images.sizes();
  return {sizes.begin() + 1, sizes.end()};
}

Dataset Dataset::select(const torch::Tensor& indices) const {
  Dataset out = *this;
  out.images = images.index_select(0, indices);
  out.labels = labels.index_select(0, indices);
  out.source_index = source_index.index_select(0, indices);
  out.original_labels = original_labels.index_select(0, indices);
  out.flipped = flipped.index_select(0, indices);
  out.marked = marked.index_select(0, indices);
  out.mixed = mixed.index_select(0, indices);
  return out;
}

void Dataset::validate(const std::string& source) const {
  require(images.defined() && images.dim() >= 2 && images.dim() <= 4,
          source + ": samples must be images [N, C, H, W], sequences [N, C, T] or table rows [N, F] (got " +
              (images.defined() ? std::to_string(images.dim()) : std::string("no")) + " dimensions)");
  const std::string unit = sample_noun(images.dim() - 1);
  require(labels.defined() && labels.dim() == 1 && labels.size(0) == images.size(0),
          source + ": " + std::to_string(images.size(0)) + " " + unit + "s but " +
              std::to_string(labels.defined() ? labels.numel() : 0) + " labels; give one label per " + unit);
  require(images.size(0) > 0, source + " holds no " + unit + "s");
  for (int64_t d = 1; d < images.dim(); ++d)
    require(images.size(d) >= 1, source + ": samples of shape " + shape_string(sample_shape()) + " are empty");
  require(!is_image() || images.size(1) <= 4, source + ": images have " + std::to_string(images.size(1)) +
                                                  " channels; 1 to 4 are supported");
  require(feature_names.empty() || static_cast<int64_t>(feature_names.size()) == images.size(1),
          source + ": " + std::to_string(feature_names.size()) + " feature names for " +
              std::to_string(images.size(1)) + " features");
  const int64_t lowest = labels.min().item<int64_t>();
  const int64_t highest = labels.max().item<int64_t>();
  require(lowest >= 0 && highest < num_classes(),
          source + ": labels range over [" + std::to_string(lowest) + ", " + std::to_string(highest) +
              "] but there are " + std::to_string(num_classes()) + " classes");
  const auto finite = torch::isfinite(images).flatten(1).all(1);
  if (!finite.all().item<bool>())
    throw Error(source + ": " + unit + " " + std::to_string(finite.logical_not().nonzero()[0][0].item<int64_t>()) +
                " contains NaN or infinite values; fix or drop it");
}

Dataset make_dataset(std::string name, torch::Tensor images, torch::Tensor labels,
                     std::vector<std::string> class_names, Normalization normalization) {
  Dataset data;
  data.name = std::move(name);
  data.images = images.to(torch::kFloat32).contiguous();
  data.labels = labels.to(torch::kInt64).contiguous();
  require(data.labels.dim() == 1 && data.labels.numel() > 0, data.name + " holds no labels");
  if (class_names.empty()) {
    const int64_t classes = data.labels.max().item<int64_t>() + 1;
    for (int64_t c = 0; c < classes; ++c) class_names.push_back(std::to_string(c));
  }
  data.class_names = std::move(class_names);
  data.validate(data.name);
  data.normalization = normalization.empty() ? compute_normalization(data.images) : normalization;
  const int64_t n = data.size();
  data.source_index = torch::arange(n, torch::kInt64);
  data.original_labels = data.labels.clone();
  data.flipped = torch::zeros({n}, torch::kBool);
  data.marked = torch::zeros({n}, torch::kBool);
  data.mixed = torch::zeros({n}, torch::kBool);
  return data;
}

Normalization compute_normalization(const torch::Tensor& samples) {
  std::vector<int64_t> others = {0};
  for (int64_t d = 2; d < samples.dim(); ++d) others.push_back(d);
  const auto mean = samples.mean(others);
  const auto std = samples.std(others).clamp_min(1e-6);
  Normalization out;
  for (int64_t c = 0; c < samples.size(1); ++c) {
    out.mean.push_back(mean[c].item<float>());
    out.std.push_back(std[c].item<float>());
  }
  return out;
}

}  // namespace prism
