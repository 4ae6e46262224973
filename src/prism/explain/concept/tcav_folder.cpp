#include "prism/explain/concept/tcav_folder.h"

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/core/json_options.h"
#include "prism/explain/concept/concept_examples.h"
#include "prism/explain/concept/flint_training.h"
#include "prism/io/npy.h"

namespace prism {
namespace {

constexpr const char* kRefit = "prism concepts tcav";
// FLINT's attributes are scored on at most this many test images' active ones.
constexpr int64_t kFlintImages = 2000;

}  // namespace

TcavStudy run_tcav_study(Network& network, const Dataset& train, const Dataset& test, const TcavStudyOptions& o,
                         const Provenance& provenance, const std::filesystem::path& out) {
  check_tcav_options(o.tcav);
  require(!o.concepts.empty(), "concepts: give at least one concept (class:K, mark or folder:DIR)");
  std::optional<FlintFolder> flint;
  if (!o.flint.empty()) {
    flint = open_flint(o.flint);
    require(flint->provenance().model_fingerprint == provenance.model_fingerprint,
            "flint: " + o.flint + " interprets another model than " + provenance.model +
                "; give a FLINT folder fitted on this model (prism flint posthoc)");
  }
  std::vector<ConceptExamples> concepts;
  for (size_t c = 0; c < o.concepts.size(); ++c)
    concepts.push_back(concept_examples(o.concepts[c], train, network.input_shape(), o.mark, o.tcav.examples_per_set,
                                        o.tcav.seed + 101 * c));
  const auto pool = random_examples(train);

  const FitFolderWriter writer(out);
  TcavStudy study;
  study.classes = tcav(network, concepts, pool,
                       class_outputs(network, test.images, test.labels, o.classes, o.tcav.inputs_per_output, o.output),
                       o.tcav);
  std::string tables = "## TCAV of the classes at layer " + study.classes.layer + "\n\n" + study.classes.markdown();
  nlohmann::json record = {{"provenance", provenance.to_json()},
                           {"options", options_json(o)},
                           {"tcav_options", options_json(o.tcav)},
                           {"classes", study.classes.to_json()}};
  if (flint) {
    auto attribute_options = o.tcav;
    attribute_options.layer = o.flint_layer.empty() ? flint->interpreter->architecture().layers.at(0) : o.flint_layer;
    const auto images = test.images.narrow(0, 0, std::min<int64_t>(kFlintImages, test.size()));
    study.attributes = tcav(network, concepts, pool,
                            flint_attribute_outputs(network, flint->interpreter, images, o.tcav.inputs_per_output),
                            attribute_options);
    tables += "\n## TCAV of FLINT's attributes at layer " + study.attributes->layer + "\n\n" +
              study.attributes->markdown();
    record["attributes"] = study.attributes->to_json();
  }
  write_file_atomic(out / "tcav.md", tables);
  write_npy(out / "cavs.npy", study.classes.cavs);
  study.record = writer.finish(record, "tcav");
  return study;
}

TcavStudy open_tcav(const std::filesystem::path& dir) {
  TcavStudy study;
  study.record = read_fit_record(dir, "tcav", kRefit);
  require(study.record.contains("classes"), "the TCAV record in " + dir.string() + " is corrupt; run " + kRefit + " again");
  study.classes = TcavResult::from_json(study.record.at("classes"));
  study.classes.cavs = read_npy(dir / "cavs.npy");
  require(study.classes.cavs.dim() == 3 && study.classes.cavs.size(0) == study.classes.scores.size(0) + 1 &&
              study.classes.cavs.size(1) == study.classes.scores.size(2),
          dir.string() + "/cavs.npy does not hold the record's CAVs; run " + kRefit + " again");
  if (study.record.contains("attributes")) study.attributes = TcavResult::from_json(study.record.at("attributes"));
  return study;
}

}  // namespace prism
