#include <filesystem>
#include <sstream>

#include "commands.h"

namespace prism::cli {

void DataOptions::add_to(CLI::App& command, bool required, const std::string& flag) {
  auto* option = command.add_option(flag, spec,
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

std::vector<int64_t> parse_indices(const std::string& text, int64_t size) {
  std::vector<int64_t> out;
  std::stringstream stream(text);
  std::string part;
  auto number = [&](const std::string& s) {
    try {
      size_t used = 0;
      const int64_t value = std::stoll(s, &used);
      if (used == s.size()) return value;
    } catch (const std::exception&) {
    }
    throw Error("--indices '" + text + "' is not a list of indices or start:stop ranges");
  };
  while (std::getline(stream, part, ',')) {
    const auto colon = part.find(':');
    const int64_t start = number(part.substr(0, colon));
    const int64_t stop = colon == std::string::npos ? start + 1 : number(part.substr(colon + 1));
    require(start >= 0 && stop <= size, "index " + part + " is outside the data (" + std::to_string(size) +
                                            " samples, indices 0.." + std::to_string(size - 1) + ")");
    for (int64_t i = start; i < stop; ++i) out.push_back(i);
  }
  require(!out.empty(), "--indices '" + text + "' selects no samples");
  return out;
}

std::unique_ptr<Network> load_model(const std::string& path, const Dataset* data) {
  return load_network(path, data ? data->image_shape() : std::vector<int64_t>{});
}

}  // namespace prism::cli
