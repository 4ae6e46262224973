#include <filesystem>

#include "commands.h"

namespace prism::cli {

void DataOptions::add_to(CLI::App& command, bool required) {
  auto* option = command.add_option("--data", spec,
                                    "data set: fashion-mnist, idx:PREFIX, cifar10:DIR, npy:IMAGES.npy,LABELS.npy, folder:DIR");
  if (required) option->required();
  command.add_option("--train-size", train_size, "use a seeded random subset of this many training images (0: all)")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--test-size", test_size, "use a seeded random subset of this many test images (0: all)")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--subset-seed", subset_seed, "seed of the subsets");
}

Dataset DataOptions::load(Split split) const {
  const auto full = load_dataset(spec, split);
  return random_subset(full, split == Split::Train ? train_size : test_size, subset_seed);
}

std::unique_ptr<Network> load_model(const std::string& path, const Dataset* data) {
  return load_network(path, data ? data->image_shape() : std::vector<int64_t>{});
}

}  // namespace prism::cli
