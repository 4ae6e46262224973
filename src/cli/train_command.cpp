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
  command->add_option("--model-arch", options->model.architecture, "architecture: " + joined_architectures())
      ->capture_default_str();
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
  command->add_option("--epochs", options->train.epochs, "epochs")->capture_default_str();
  command->add_option("--batch-size", options->train.batch_size, "batch size")->capture_default_str();
  command->add_option("--optimizer", options->train.optimizer, "adam or sgd")->capture_default_str();
  command->add_option("--lr", options->train.learning_rate, "learning rate")->capture_default_str();
  command->add_option("--momentum", options->train.momentum, "SGD momentum")->capture_default_str();
  command->add_option("--weight-decay", options->train.weight_decay, "weight decay")->capture_default_str();
  command->add_option("--schedule", options->train.schedule, "learning-rate schedule: constant, step, cosine")
      ->capture_default_str();
  command->add_option("--step-every", options->train.step_every, "step schedule: epochs between decays");
  command->add_option("--step-gamma", options->train.step_gamma, "step schedule: factor per decay");
  command->add_option("--seed", options->train.seed, "seed of weights, shuffling, augmentation, dropout");
  command->add_flag("--augment", options->train.augment, "random crop and flip (for CIFAR-like data)");
  command->add_option_function<int64_t>(
      "--mark-class", [options](int64_t c) { options->mark.target_class = c, options->marked = true; },
      "stamp the shortcut mark (a square outline) on a share of this class's training images, for the localisation "
      "benchmark (prism evaluate localisation)");
  command->add_option("--mark-fraction", options->mark.fraction, "share of that class's training images marked")
      ->capture_default_str();
  command->add_option("--out", options->train.out, "run folder (model.prism, checkpoints/, history.json)")->required();
  command->callback([options] {
    auto train = options->data.load(Split::Train);
    if (options->marked) {
      options->mark.seed = options->train.seed;
      train = mark_class(train, options->mark);
    }
    const auto test = options->data.load(Split::Test);
    require(train.image_shape() == test.image_shape(), "the training and test images differ in shape");
    options->model.seed = options->train.seed;
    auto network = make_zoo_network(options->model, train);
    const auto history = train_network(*network, train, &test, options->train);
    std::printf("test accuracy %.2f %% after %lld epochs; model saved to %s\n", 100 * history.back().test_accuracy,
                static_cast<long long>(history.back().epoch), (options->train.out / "model.prism").c_str());
  });
}

}  // namespace prism::cli
