// The example images of a human concept, from the spec a user types after --concepts:
//   class:K or class:NAME   the training images of one class
//   mark                    training images with the stamped mark (the shortcut the marking evaluations plant)
//   folder:DIR              the PNG/JPEG/BMP images in DIR, at the model's input size
#pragma once
#include <string>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/data/transforms.h"
#include "prism/explain/concept/tcav.h"

namespace prism {

// At most `count` images (a seeded choice where there are more), named by the spec ("class:Coat", "mark",
// "folder:stripes"). `input_shape` {C, H, W} is what a folder's images must match.
ConceptExamples concept_examples(const std::string& spec, const Dataset& train, const std::vector<int64_t>& input_shape,
                                 const MarkOptions& mark, int64_t count, uint64_t seed);

// The random examples TCAV draws its random sets from: the training images, without the stamped mark.
torch::Tensor random_examples(const Dataset& train);

}  // namespace prism
