// The output folder of a FLINT interpretation, what `prism flint interpret` writes, from results computed
// beforehand (Parekh et al. 2021, Sec. 3.1 and 4.2): local interpretations of test samples, the global
// interpretation and what each attribute shows.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "prism/evaluate/concept/flint_evaluation.h"
#include "prism/explain/concept/attribute_visualisation.h"

namespace prism {

struct FlintInterpretationOutputs {
  torch::Tensor images, labels;  // the interpreted test samples [B, C, H, W] and their labels [B]
  std::vector<int64_t> indices;  // their positions in the test set
  FlintOutputs outputs;          // f's and g's logits, Φ and its relevance for f's prediction on them
  AttributeSummary summary;      // over the global samples
  torch::Tensor global_images;   // those samples
  std::vector<std::string> class_names;
  std::vector<std::string> feature_names;  // a table's columns (empty: f0, f1, ...)
  double tau = 2;      // relevance threshold 1/τ
  int64_t scale = 2;   // enlargement of the attribute pictures
  nlohmann::json head = nlohmann::json::object();  // what interpretation.json starts with
};

// interpretation.json (the head; per sample f's and g's predictions, Φ, its relevance and local interpretation; the
// global interpretation; per attribute its top samples and activations), relevance.npy, global-relevance.npy,
// maximised.npy, sample-NNN.png (the image, f's and g's answers and the relevance bars with the 1/τ line),
// global-relevance.png, attribute-JJ.png and attributes.png. For table rows: no images, so the sample pictures hold
// the captions and bars, and attributes.png is the attributes' feature profiles (AttributeSummary::profiles, also
// profiles.npy, and each attribute's three strongest features in interpretation.json). Returns what
// interpretation.json holds.
nlohmann::json write_flint_interpretation_outputs(const std::filesystem::path& out, const FlintInterpretationOutputs& o);

// flint-evaluation.json (the evaluation and `about`: the folder, mode and data it evaluated) and
// flint-evaluation.md, its table.
void write_flint_evaluation_outputs(const std::filesystem::path& out, const FlintEvaluation& evaluation,
                                    const nlohmann::json& about);

}  // namespace prism
