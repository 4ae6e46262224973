// `prism report`: the page of report/report_page.h from the command line's options.
#include <cstdio>

#include "commands.h"

namespace prism::cli {

void run_report(const ReportCommand& command) {
  require(!command.out.empty(), "give --out FILE.html");
  const auto test = command.data.load(Split::Test);
  auto options = command.report;
  options.data = command.data.spec;
  options.indices = parse_indices(command.indices, test.size());
  options.indices_text = command.indices;
  if (!command.methods.empty()) options.methods = parse_list<std::string>(command.methods, "--methods");
  if (!command.evaluations.empty()) options.evaluations = parse_list<std::string>(command.evaluations, "--evaluations");
  const auto size = write_report(options, test, command.out);
  std::printf("report: %s (%.1f KiB, %zu samples)\n", command.out.c_str(), size / 1024.0, options.indices.size());
}

void add_report(CLI::App& app) {
  auto* command = app.add_subcommand("report", "one self-contained HTML page explaining predictions with every family");
  auto c = std::make_shared<ReportCommand>();
  auto* o = &c->report;
  command->add_option("--model", o->model, "model file (.prism or TorchScript .pt)")->required();
  c->data.add_to(*command);
  command->add_option("--indices", c->indices, "test samples: 0:4, 3,5,9 or a mix")->capture_default_str();
  command->add_option("--methods", c->methods,
                      "feature-attribution methods, in the order shown (default: pruned-gradient, saliency, "
                      "integrated-gradients, smoothgrad, grad-cam on images, lrp)");
  command->add_option("--examples", o->examples, "an EBE-DNN fit folder (prism examples fit)");
  command->add_option("--k", o->k, "EBE-DNN neighbours shown")->capture_default_str()->check(CLI::PositiveNumber);
  command->add_option("--influence", o->influence, "a data-attribution fit folder (prism influence fit)");
  command->add_option("--top", o->top, "proponents and opponents shown")->capture_default_str()->check(CLI::PositiveNumber);
  command->add_option("--xda-pairs", o->xda_pairs, "top pairs of each sign with XDA heatmaps")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->add_option("--flint", o->flint, "a FLINT folder of this model (prism flint train or posthoc)");
  command->add_option("--tau", o->tau, "FLINT: relevance threshold 1/τ")->capture_default_str();
  command->add_option("--flint-samples", o->flint_samples, "FLINT: training samples that show the attributes")
      ->capture_default_str();
  command->add_option("--tcav", o->tcav, "a TCAV folder of this model (prism concepts tcav)");
  command->add_option("--evaluations", c->evaluations, "folders written by prism evaluate, comma-separated");
  command->add_option("--scale", o->scale, "pixels per image pixel")->capture_default_str()->check(CLI::Range(1, 16));
  command->add_option("--out", c->out, "the HTML file to write")->required();
  command->callback([c] { run_report(*c); });
}

}  // namespace prism::cli
