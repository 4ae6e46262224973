// A TCAV study of a model, kept in a fit folder (model/fit_folder.h): every concept's TCAV scores for the classes
// at one layer and, given a FLINT folder of the model, for FLINT's learnt attributes at the layer they read, so
// which attributes line up with which human concepts is read off one table. The folder holds tcav.md (the tables),
// cavs.npy (the classes' CAVs [C + 1, M, D], the null's last) and fit.json (kind "tcav": provenance, options, both results), written last.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/data/transforms.h"
#include "prism/explain/concept/tcav.h"
#include "prism/model/fit_folder.h"

namespace prism {

struct TcavStudyOptions {
  std::vector<std::string> concepts = {"mark"};  // specs (concept_examples.h)
  std::vector<int64_t> classes;                  // empty: every class
  std::string output = "logit";                  // or "log-probability" (class_outputs)
  std::string flint;        // a FLINT folder of the model whose attributes are scored too ("": none)
  std::string flint_layer;  // where the attributes' CAVs live ("": the first layer FLINT reads)
  TcavOptions tcav;
  MarkOptions mark;  // the geometry of the "mark" concept

  template <typename Visit>
  void visit(Visit&& option) {
    option("concepts", concepts, "concepts: class:K or class:NAME, mark, folder:DIR");
    option("classes", classes, "classes whose logits are scored (empty: every class)");
    option("output", output, "what is scored of each class: logit (the paper's) or log-probability");
    option("flint", flint, "a FLINT folder of the model: score its attributes against the same concepts");
    option("flint_layer", flint_layer, "the layer of the attributes' CAVs (default: the first layer FLINT reads)");
  }
};

struct TcavStudy {
  TcavResult classes;
  std::optional<TcavResult> attributes;  // FLINT's attributes
  nlohmann::json record;
};

// Runs the study (random sets from `train` without the mark, class inputs from `test`) and writes its folder `out`.
TcavStudy run_tcav_study(Network& network, const Dataset& train, const Dataset& test, const TcavStudyOptions& options,
                         const Provenance& provenance, const std::filesystem::path& out);
// The finished study in `dir`.
TcavStudy open_tcav(const std::filesystem::path& dir);

}  // namespace prism
