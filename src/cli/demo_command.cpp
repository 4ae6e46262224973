#include <cstdio>

#include "commands.h"

namespace prism::cli {

// prism's main job on the built-in data: train (or reuse) a cnn on Fashion-MNIST, evaluate it, and explain
// four test predictions with every feature-attribution method, EBE-DNN's examples and DualView's proponents,
// learn a post-hoc FLINT interpreter of its concepts, score human concepts with TCAV, evaluate the maps (sanity check, pixel perturbation) and write the HTML report of it all.
void add_demo(CLI::App& app) {
  auto* command = app.add_subcommand("demo", "train a cnn on Fashion-MNIST (cached), evaluate it, and explain four predictions with every family");
  struct Options {
    DataOptions data;
    std::string out = "runs/demo";
    int64_t epochs = 2;
  };
  auto options = std::make_shared<Options>();
  options->data.spec = "fashion-mnist";
  options->data.add_to(*command, false);
  command->add_option("--out", options->out, "run folder (reused by later runs)")->capture_default_str();
  command->add_option("--epochs", options->epochs, "training epochs")->capture_default_str();
  command->callback([options] {
    const auto train = options->data.load(Split::Train);
    const auto test = options->data.load(Split::Test);
    std::printf("prism demo: %s, %lld training and %lld test images, model cnn\n", options->data.spec.c_str(),
                static_cast<long long>(train.size()), static_cast<long long>(test.size()));
    auto network = make_zoo_network(ZooOptions{}, train);
    TrainOptions training;
    training.epochs = options->epochs;
    training.out = options->out;
    train_network(*network, train, &test, training);
    const auto result = evaluate(*network, test);
    write_prediction_outputs(options->out, result, network->class_names());
    std::printf("\n%s\nmodel: %s/model.prism  evaluation: %s/evaluation.json\n",
                result.table(network->class_names()).c_str(), options->out.c_str(), options->out.c_str());

    // Explain a few test predictions with every feature-attribution method.
    AttributeOptions attribution;
    attribution.model = (std::filesystem::path(options->out) / "model.prism").string();
    attribution.data = options->data;
    attribution.indices = "0:4";
    for (const auto& method : feature_methods())
      attribution.methods += (attribution.methods.empty() ? "" : ",") + method;
    attribution.out = (std::filesystem::path(options->out) / "attributions").string();
    std::printf("\nfeature attributions of test images %s with %s\n", attribution.indices.c_str(),
                attribution.methods.c_str());
    run_attribute(attribution);

    // Which training examples: EBE-DNN's kNN on the hidden dense layer, and DualView with its XDA heatmaps.
    // Both fits are cached beside the model and rebuilt only when the model changes.
    const std::filesystem::path out(options->out);
    const auto& model_file = attribution.model;
    std::printf("\nexample attribution (EBE-DNN, k = 10 at relu3) of test images 0:4\n");
    if (!fit_is_current(out / "examples-fit", model_file))
      run_examples_fit(model_file, options->data, "relu3", out / "examples-fit");
    run_examples_explain(out / "examples-fit", options->data, "0:4", 10, out / "examples");
    std::printf("\ndata attribution (DualView, C = 1e-3) of test images 0:4\n");
    if (!fit_is_current(out / "dualview-fit", model_file))
      run_influence_fit(model_file, options->data, "dualview", out / "dualview-fit");
    run_influence_explain(out / "dualview-fit", options->data, "0:4", 8, true, out / "dualview");

    // Which learnt concepts: a post-hoc FLINT interpreter of the model (a short schedule on 20,000 training
    // images; the paper's 12 epochs are in docs/flint.md).
    std::printf("\nconcepts (FLINT post hoc: 25 attributes read from relu2, 3 epochs on 20,000 training images)\n");
    DataOptions flint_data = options->data;
    flint_data.train_size = 20000;
    FlintTrainOptions flint;
    flint.epochs = 3;
    flint.batch_size = 32;
    flint.learning_rate = 1e-3;
    flint.weights.beta_from = 1;
    flint.weights.eta_from = 2;
    flint.weights.delta_from = 2;
    run_flint_posthoc(model_file, flint_data, 25, flint, (out / "flint").string());
    // Which human concepts: TCAV of three classes' images and of the stamped mark, for every class and for FLINT's
    // attributes.
    TcavStudyOptions tcav;
    tcav.concepts = {"class:Trouser", "class:Sneaker", "class:Bag", "mark"};
    tcav.flint = (out / "flint").string();
    std::printf("\nhuman concepts (TCAV of %s)\n", join(tcav.concepts, ", ").c_str());
    if (!fit_is_current(out / "tcav", model_file)) run_concepts_tcav(model_file, options->data, tcav, out / "tcav", false);

    // How good the maps are (small, fast runs), and the page that shows it all.
    std::printf("\nsanity check (cascading randomisation, 16 test images)\n");
    run_sanity_evaluation(model_file, options->data, 16, out / "evaluations/sanity");
    std::printf("\npixel perturbation (200 test images)\n");
    run_perturbation_evaluation(model_file, options->data, 200, out / "evaluations/perturbation");
    ReportCommand report;
    report.data = options->data;
    report.indices = "0:4";
    report.report.model = model_file;
    report.report.examples = out / "examples-fit";
    report.report.influence = out / "dualview-fit";
    report.report.flint = out / "flint";
    report.report.tcav = out / "tcav";
    report.evaluations = (out / "evaluations/sanity").string() + "," + (out / "evaluations/perturbation").string();
    report.out = out / "report.html";
    std::printf("\n");
    run_report(report);
    std::printf("\nopen %s in a browser: every family of explanation for test images 0:4, and the evaluations\n",
                report.out.c_str());
  });
}

}  // namespace prism::cli
