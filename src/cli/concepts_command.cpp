// prism concepts tcav: TCAV scores of human concepts for a model's classes (and FLINT's attributes).
#include <cstdio>

#include "commands.h"

namespace prism::cli {

void run_concepts_tcav(const std::string& model, const DataOptions& data, const TcavStudyOptions& study,
                       const std::string& out, bool tables) {
  const auto train = data.load(Split::Train), test = data.load(Split::Test);
  auto network = load_model(model, &test);
  const auto result = run_tcav_study(*network, train, test, study, fit_provenance(model, data), out);
  const auto significant = [](const TcavResult& r) { return (r.p_values < r.alpha).sum().item<int64_t>(); };
  if (tables) {
    std::printf("%s\n", result.classes.markdown().c_str());
    if (result.attributes)
      std::printf("FLINT's attributes at %s:\n%s\n", result.attributes->layer.c_str(), result.attributes->markdown().c_str());
  } else {
    std::printf("TCAV: %lld of %lld concept-class pairs significant", static_cast<long long>(significant(result.classes)),
                static_cast<long long>(result.classes.p_values.numel()));
    if (result.attributes)
      std::printf(", %lld of %lld concept-attribute pairs", static_cast<long long>(significant(*result.attributes)),
                  static_cast<long long>(result.attributes->p_values.numel()));
    std::printf("\n");
  }
  std::printf("TCAV at layer %s -> %s (fit.json, tcav.md)\n", result.classes.layer.c_str(), out.c_str());
}

namespace {

struct TcavCommand {
  std::string model, out;
  DataOptions data;
  TcavStudyOptions study;
  void run() { run_concepts_tcav(model, data, study, out, true); }
};

}  // namespace

void add_concepts(CLI::App& app) {
  auto* concepts = app.add_subcommand("concepts", "concept-based explanations: TCAV (and FLINT, under prism flint)");
  concepts->require_subcommand(1);
  auto* command = concepts->add_subcommand("tcav", "TCAV: how much human concepts (a class's images, the stamped "
                                                    "mark, a folder of images) move each class's logit");
  auto o = std::make_shared<TcavCommand>();
  command->add_option("--model", o->model, "model file (.prism or TorchScript .pt)")->required();
  o->data.add_to(*command);
  add_option_flags(*command, o->study);
  add_option_flags(*command, o->study.tcav);
  add_option_flags(*command, o->study.mark, {"mark_class", "mark_fraction", "seed"});
  command->add_option("--out", o->out, "output folder (fit.json, tcav.md)")->required();
  command->callback([o] { o->run(); });
}

}  // namespace prism::cli
