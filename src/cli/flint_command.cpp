// prism flint train | posthoc | interpret | evaluate: FLINT, a classifier learnt with its interpreter, or an
// interpreter for a trained classifier (seed 001).
#include <cstdio>

#include "commands.h"

namespace prism::cli {
namespace fs = std::filesystem;
namespace {

// What train and posthoc share: data, FLINT's architecture and training options.
struct FlintTrainCommand {
  DataOptions data;
  std::string out;
  FlintFitOptions fit;

  void add_to(CLI::App& command) {
    data.add_to(command);
    // The learning rate keeps prism train's flag.
    add_option_flags(command, fit, {"learning_rate"});
    command.add_option("--lr", fit.train.learning_rate, "Adam learning rate (the paper's for MNIST-like data)")
        ->capture_default_str();
    command.add_option("--out", out, "FLINT folder (flint.json, interpreter/, ...)")->required();
  }

  void run(Network& network, const Dataset& train_data, const Dataset& test_data) {
    require(train_data.sample_shape() == test_data.sample_shape(), "the training and test samples differ in shape");
    fit.train.out = out;
    const auto [interpreter, history] = learn_flint(network, train_data, &test_data, fit);
    const auto& last = history.back();
    std::printf("FLINT (%s, %lld attributes from %s) after %lld epochs: test accuracy f %.2f %%, g %.2f %%, "
                "fidelity %.2f %% -> %s\n",
                fit.train.train_predictor ? "joint" : "post hoc", static_cast<long long>(fit.attributes),
                interpreter->architecture().layers.front().c_str(), static_cast<long long>(last.epoch),
                100 * last.test_predictor_accuracy, 100 * last.test_interpreter_accuracy, 100 * last.test_fidelity,
                out.c_str());
  }
};

void add_train_command(CLI::App& flint) {
  auto* command = flint.add_subcommand("train", "learn a classifier f and its interpreter g together");
  struct Options : FlintTrainCommand {
    ZooOptions model;
  };
  auto o = std::make_shared<Options>();
  o->add_to(*command);
  command->add_option("--model-arch", o->model.architecture,
                      "f's architecture: " + joined_architectures() + " (default: cnn for images, cnn1d for sequences, mlp for tables)");
  command->add_option("--width", o->model.width, "f's width (mlp hidden units, resnet18 base channels; 0: default)");
  command->callback([o] {
    const auto train = o->data.load(Split::Train), test = o->data.load(Split::Test);
    o->model.seed = o->fit.train.seed;
    auto network = make_zoo_network(o->model, train);
    o->fit.train.train_predictor = true;
    o->fit.train.provenance = {"", "", o->data.spec, o->data.train_size, o->data.subset_seed};  // f: set when saved
    o->run(*network, train, test);
  });
}

void add_posthoc_command(CLI::App& flint) {
  auto* command = flint.add_subcommand("posthoc", "learn an interpreter g for a trained classifier f (f frozen)");
  struct Options : FlintTrainCommand {
    std::string model;
  };
  auto o = std::make_shared<Options>();
  o->add_to(*command);
  command->add_option("--model", o->model, "the trained classifier f (prism model or TorchScript)")->required();
  command->callback([o] {
    const auto train = o->data.load(Split::Train), test = o->data.load(Split::Test);
    auto network = load_model(o->model, &train);
    o->fit.train.train_predictor = false;
    o->fit.train.provenance = fit_provenance(o->model, o->data);
    o->run(*network, train, test);
  });
}

// A finished FLINT folder and its predictor f, checked to be the model it was made with.
struct OpenedFlint {
  FlintFolder folder;
  std::unique_ptr<Network> network;
};
OpenedFlint open_flint_with_model(const std::string& dir, const std::string& model_override, const Dataset& data) {
  OpenedFlint opened{open_flint(dir), nullptr};
  const auto path = opened.folder.provenance().model_path(model_override, dir, "prism flint train or posthoc");
  opened.network = load_model(path, &data);
  opened.network->set_training(false);
  const auto& a = opened.folder.interpreter->architecture();
  require(data.num_classes() == a.num_classes && data.sample_shape() == a.input_shape,
          "the data " + data.name + " (" + std::to_string(data.num_classes()) + " classes, images " +
              shape_string(data.sample_shape()) + ") does not match the FLINT model (" +
              std::to_string(a.num_classes) + " classes, images " + shape_string(a.input_shape) + ")");
  return opened;
}

struct InterpretCommand {
  std::string flint_dir, model, indices = "0:8", out;
  DataOptions data;
  double tau = 2;
  int64_t top = 8, scale = 2, global_size = 0;
  ActivationMaximisationOptions maximisation;

  void run() {
    require(tau > 1, "--tau must exceed 1 (the relevance threshold is 1/τ)");
    require(top >= 1 && scale >= 1 && scale <= 16, "--top must be at least 1 and --scale lie in [1, 16]");
    const auto test = data.load(Split::Test);
    auto [folder, network] = open_flint_with_model(flint_dir, model, test);
    auto& interpreter = folder.interpreter;
    const auto chosen = parse_indices(indices, test.size());
    const auto index = torch::tensor(chosen, torch::kInt64);
    const auto images = test.images.index_select(0, index);
    const auto outputs = run_flint(*network, interpreter, images);

    // Global relevance and the attributes' top samples, over the FLINT model's training data.
    auto train = folder.provenance().training_data(folder.record.at("train_samples"), flint_dir);
    if (global_size > 0) train = random_subset(train, global_size, 0);
    const auto summary = summarise_attributes(*network, interpreter, train.images, top, maximisation);
    FlintInterpretationOutputs interpretation{images, test.labels.index_select(0, index), chosen, outputs,
                                              summary, train.images, test.class_names, test.feature_names, tau, scale};
    interpretation.head = {{"flint", fs::absolute(flint_dir).string()}, {"data", data.spec}};
    const auto written = write_flint_interpretation_outputs(out, interpretation);
    const auto& names = test.class_names;
    for (const auto& sample : written.at("samples")) {
      std::string explanation;
      for (int64_t j : sample.at("local_interpretation")) explanation += " " + std::to_string(j);
      std::printf("test %lld (%s): f says %s, g says %s; attributes above 1/τ:%s\n",
                  static_cast<long long>(sample.at("index").get<int64_t>()), names[sample.at("label").get<int64_t>()].c_str(),
                  names[sample.at("predictor_prediction").get<int64_t>()].c_str(),
                  names[sample.at("interpreter_prediction").get<int64_t>()].c_str(), explanation.c_str());
    }
    std::printf("%zu class-attribute pairs above 1/τ over %lld training samples; interpretation.json, sample-NNN.png, "
                "global-relevance.png, attributes.png in %s\n",
                written.at("global_interpretation").size(), static_cast<long long>(train.size()), out.c_str());
  }
};

void add_interpret_command(CLI::App& flint) {
  auto* command = flint.add_subcommand("interpret", "local and global interpretations, and what each attribute shows");
  auto o = std::make_shared<InterpretCommand>();
  command->add_option("--flint", o->flint_dir, "FLINT folder")->required();
  o->data.add_to(*command);
  command->add_option("--indices", o->indices, "test samples to interpret: 0:8, 3,5,9")->capture_default_str();
  command->add_option("--out", o->out, "output folder")->required();
  command->add_option("--model", o->model, "f's model file, where it moved since the FLINT training");
  command->add_option("--tau", o->tau, "relevance threshold 1/τ of the interpretations")->capture_default_str();
  command->add_option("--top", o->top, "training samples shown per attribute")->capture_default_str();
  command->add_option("--scale", o->scale, "enlargement of the attribute pictures")->capture_default_str();
  command->add_option("--global-size", o->global_size,
                      "training samples for global relevance and top samples (0: all of the FLINT training data)");
  add_option_flags(*command, o->maximisation, {}, "am-");  // activation maximisation
  command->callback([o] { o->run(); });
}

void add_evaluate_command(CLI::App& flint) {
  auto* command = flint.add_subcommand("evaluate", "accuracy of f and g, fidelity, conciseness");
  struct Options {
    std::string flint_dir, model, out;
    std::vector<double> taus = {1.5, 2, 2.5, 3, 4, 5};
    DataOptions data;
  };
  auto o = std::make_shared<Options>();
  command->add_option("--flint", o->flint_dir, "FLINT folder")->required();
  o->data.add_to(*command);
  command->add_option("--model", o->model, "f's model file, where it moved since the FLINT training");
  command->add_option_function<std::string>(
      "--taus", [o](const std::string& text) { o->taus = parse_list<double>(text, "--taus"); },
      "thresholds τ of conciseness, comma-separated [1.5,2,2.5,3,4,5]");
  command->add_option("--out", o->out, "folder for flint-evaluation.json and .md");
  command->callback([o] {
    for (double tau : o->taus) require(tau > 1, "--taus must list numbers above 1 (got " + short_number(tau) + ")");
    const auto test = o->data.load(Split::Test);
    auto [folder, network] = open_flint_with_model(o->flint_dir, o->model, test);
    const auto evaluation = evaluate_flint(*network, folder.interpreter, test, o->taus);
    const auto table = evaluation.markdown();
    std::printf("%s", table.c_str());
    if (o->out.empty()) return;
    write_flint_evaluation_outputs(o->out, evaluation,
                                   {{"flint", fs::absolute(o->flint_dir).string()},
                                    {"mode", folder.record.at("mode")},
                                    {"data", o->data.spec}});
  });
}

}  // namespace

void run_flint_posthoc(const std::string& model, const DataOptions& data, int64_t attributes,
                       const FlintTrainOptions& options, const std::string& out) {
  // A finished run of another model (or an unreadable one) is redone.
  if (fs::exists(fs::path(out) / "flint.json") && !fit_is_current(out, model, "flint.json")) fs::remove_all(out);
  FlintTrainCommand command;
  command.data = data;
  command.fit.attributes = attributes;
  command.out = out;
  command.fit.train = options;
  command.fit.train.train_predictor = false;
  command.fit.train.provenance = fit_provenance(model, data);
  const auto train = data.load(Split::Train), test = data.load(Split::Test);
  auto network = load_model(model, &train);
  command.run(*network, train, test);
}

void add_flint(CLI::App& app) {
  auto* flint = app.add_subcommand("flint", "FLINT: a classifier with a learnt interpreter of high-level attributes");
  flint->require_subcommand(1);
  add_train_command(*flint);
  add_posthoc_command(*flint);
  add_interpret_command(*flint);
  add_evaluate_command(*flint);
}

}  // namespace prism::cli
