#include "prism/explain/feature/collapse.h"

#include "prism/core/error.h"
#include "prism/data/dataset.h"

namespace prism {

torch::Tensor collapse_channels(const torch::Tensor& a, const std::string& mode) {
  require(a.dim() >= 2 && a.dim() <= 4,
          "channel collapsing takes a batch's maps [B, C, H, W], [B, C, T] or [B, F], got " + shape_string(a.sizes()));
  if (a.dim() == 2) return a;  // a table's maps: no channels
  if (mode == "sum") return a.sum(1);
  if (mode == "abs-sum") return a.abs().sum(1);
  if (mode == "max-abs") return a.abs().amax(1);
  if (mode == "signed-max") return a.gather(1, a.abs().argmax(1, /*keepdim=*/true)).squeeze(1);
  throw Error("unknown channel reduction '" + mode + "'; use sum, abs-sum, max-abs or signed-max");
}

torch::Tensor collapse_sample_channels(const torch::Tensor& attribution, const std::string& mode) {
  return collapse_channels(attribution.unsqueeze(0), mode).squeeze(0);
}

}  // namespace prism
