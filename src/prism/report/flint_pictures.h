// Pictures of FLINT's attributes: one row per attribute with its top samples and its activation-maximisation
// image, or a note where the attribute never fires on the samples (a dead attribute has no top samples).
#pragma once
#include <torch/torch.h>

#include "prism/explain/concept/attribute_visualisation.h"

namespace prism {

// Attribute j's row: the top samples of `summary` (taken from `images`, the samples it was computed on), then
// the maximised image, each enlarged `scale` times; the first titled "phi j".
torch::Tensor attribute_picture(const AttributeSummary& summary, const torch::Tensor& images, int64_t j,
                                int64_t scale);

}  // namespace prism
