#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "commands.h"

namespace prism::cli {

void DataOptions::add_to(CLI::App& command, bool required, const std::string& flag) {
  auto* option = command.add_option(flag, spec,
                                    "data set: fashion-mnist, fashion-mnist:rows, idx:PREFIX, cifar10:DIR, npy:IMAGES.npy,LABELS.npy, "
                                    "sequence:SEQUENCES.npy,LABELS.npy, folder:DIR, csv:TABLE.csv");
  if (required) option->required();
  command.add_option("--train-size", train_size, "use a seeded random subset of this many training images (0: all)")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--test-size", test_size, "use a seeded random subset of this many test images (0: all)")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--subset-seed", subset_seed, "seed of the subsets");
}

std::string flag_of(const std::string& key) {
  std::string flag = "--" + key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

namespace {

template <typename T>
void add_typed_flag(CLI::App& command, nlohmann::json& options, const std::string& key, const std::string& help) {
  command.add_option_function<T>(flag_of(key), [&options, key](const T& value) { options[key] = value; }, help);
}

}  // namespace

void add_method_flags(CLI::App& command, nlohmann::json& options, const std::vector<MethodDoc>& methods,
                      const std::set<std::string>& own_flags) {
  std::vector<std::string> keys;
  std::map<std::string, std::string> helps;
  std::map<std::string, nlohmann::json> defaults;
  for (const auto& method : methods)
    for (const auto& option : method.options) {
      if (own_flags.count(option.key)) continue;
      if (!helps.count(option.key)) keys.push_back(option.key);
      auto& help = helps[option.key];
      help += (help.empty() ? "" : "; ") + method.name + ": " + option.help + " (default " + option.default_value.dump() + ")";
      defaults.emplace(option.key, option.default_value);
    }
  for (const auto& key : keys) {
    const auto& value = defaults.at(key);
    if (value.is_boolean())
      add_typed_flag<bool>(command, options, key, helps[key]);
    else if (value.is_number_unsigned())
      add_typed_flag<uint64_t>(command, options, key, helps[key]);
    else if (value.is_number_integer())
      add_typed_flag<int64_t>(command, options, key, helps[key]);
    else if (value.is_number_float())
      add_typed_flag<double>(command, options, key, helps[key]);
    else if (value.is_array())  // of names: given comma-separated
      command.add_option_function<std::string>(
          flag_of(key), [&options, key](const std::string& text) { options[key] = parse_list<std::string>(text, flag_of(key)); },
          helps[key] + ", comma-separated");
    else
      add_typed_flag<std::string>(command, options, key, helps[key]);
  }
}

std::string method_names(const std::vector<MethodDoc>& methods) {
  std::vector<std::string> names;
  for (const auto& method : methods) names.push_back(method.name);
  return join(names);
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

Provenance fit_provenance(const std::string& model, const DataOptions& train) {
  return Provenance::of_model_file(model, train.spec, train.train_size, train.subset_seed);
}

std::unique_ptr<Network> load_model(const std::string& path, const Dataset* data) {
  return load_network(path, data ? data->sample_shape() : std::vector<int64_t>{});
}

}  // namespace prism::cli
