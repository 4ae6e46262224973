#include <cstdio>

#include "commands.h"

namespace prism::cli {

void add_train(CLI::App& app) {
  auto* command = app.add_subcommand("train", "train a built-in classifier and save it with a checkpoint per epoch");
  struct Options {
    DataOptions data;
    ZooOptions model;
    TrainOptions train;
    MarkOptions mark;
    bool marked = false;
  };
  auto options = std::make_shared<Options>();
  options->data.add_to(*command);
  command->add_option("--model-arch", options->model.architecture,
                      "architecture: " + joined_architectures() + " (default: cnn for images, cnn1d for sequences, mlp for tables)");
  // --model names a model file in every other command; here it was once the architecture.
  command
      ->add_option_function<std::string>(
          "--model",
          [](const std::string&) {
            throw Error("prism train takes the architecture as --model-arch (" + joined_architectures() +
                        "); --model names a model file in the other commands");
          })
      ->group("");
  command->add_option("--width", options->model.width, "width (mlp hidden units, resnet18 base channels; 0: default)");
  add_option_flags(*command, options->train);
  command->add_option_function<int64_t>(
      "--mark-class", [options](int64_t c) { options->mark.target_class = c, options->marked = true; },
      "stamp the shortcut mark (a square outline) on a share of this class's training images, for the localisation "
      "benchmark (prism evaluate localisation)");
  add_option_flags(*command, options->mark, {"mark_class", "seed"});  // the mark's seed is the training seed
  command->add_option("--out", options->train.out, "run folder (model.prism, checkpoints/, history.json)")->required();
  command->callback([options] {
    auto train = options->data.load(Split::Train);
    if (options->marked) {
      options->mark.seed = options->train.seed;
      train = mark_class(train, options->mark);
    }
    const auto test = options->data.load(Split::Test);
    require(train.sample_shape() == test.sample_shape(), "the training and test samples differ in shape");
    options->model.seed = options->train.seed;
    auto network = make_zoo_network(options->model, train);
    const auto history = train_network(*network, train, &test, options->train);
    std::printf("test accuracy %.2f %% after %lld epochs; model saved to %s\n", 100 * history.back().test_accuracy,
                static_cast<long long>(history.back().epoch), (options->train.out / "model.prism").c_str());
  });
}

}  // namespace prism::cli
