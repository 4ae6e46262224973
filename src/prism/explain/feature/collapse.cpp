#include "prism/explain/feature/collapse.h"

#include "prism/core/error.h"

namespace prism {

torch::Tensor collapse_channels(const torch::Tensor& a, const std::string& mode) {
  if (a.dim() <= 2) return a;  // a table's maps [B, F] or [F]: no channels
  require(a.dim() == 3 || a.dim() == 4, "channel collapsing takes maps [C, H, W] or [B, C, H, W]");
  const int64_t channel = a.dim() - 3;
  if (mode == "sum") return a.sum(channel);
  if (mode == "abs-sum") return a.abs().sum(channel);
  if (mode == "max-abs") return a.abs().amax(channel);
  if (mode == "signed-max") return a.gather(channel, a.abs().argmax(channel, /*keepdim=*/true)).squeeze(channel);
  throw Error("unknown channel reduction '" + mode + "'; use sum, abs-sum, max-abs or signed-max");
}

}  // namespace prism
