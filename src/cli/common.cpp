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

nlohmann::json fit_provenance(const std::string& model, const DataOptions& train) {
  return {{"model", std::filesystem::absolute(model).string()},
          {"model_fingerprint", file_fingerprint(model)},
          {"data", train.spec},
          {"train_size", train.train_size},
          {"subset_seed", train.subset_seed}};
}

std::string fitted_model_path(const nlohmann::json& provenance, const std::string& model_override,
                              const std::string& fit_dir, const std::string& refit_command) {
  const std::string path = model_override.empty() ? provenance.at("model").get<std::string>() : model_override;
  require(std::filesystem::exists(path), "the fit's model " + path + " is gone; give --model or re-run the fit");
  require(file_fingerprint(path) == provenance.at("model_fingerprint").get<std::string>(),
          "the model " + path + " is not the one the fit in " + fit_dir + " was built from; re-run " + refit_command +
              " with this model");
  return path;
}

Dataset fitted_train_data(const nlohmann::json& provenance, int64_t expected_size, const std::string& fit_dir) {
  DataOptions options;
  options.spec = provenance.at("data").get<std::string>();
  options.train_size = provenance.at("train_size").get<int64_t>();
  options.subset_seed = provenance.at("subset_seed").get<uint64_t>();
  auto train = options.load(Split::Train);
  require(train.size() == expected_size, "the training data " + options.spec + " no longer matches the fit in " +
                                             fit_dir + " (" + std::to_string(train.size()) + " samples, the fit has " +
                                             std::to_string(expected_size) + "); re-run the fit");
  return train;
}

bool fit_is_current(const std::filesystem::path& dir, const std::string& model) {
  try {
    const auto bytes = read_file(dir / "fit.json", 1 << 24);
    const auto record = nlohmann::json::parse(bytes.begin(), bytes.end());
    return record.at("provenance").at("model_fingerprint").get<std::string>() == file_fingerprint(model);
  } catch (const std::exception&) {
    return false;  // missing or unreadable: not current
  }
}

std::vector<float> to_vector(const torch::Tensor& row) {
  const auto values = row.to(torch::kCPU, torch::kFloat32).contiguous();
  return {values.data_ptr<float>(), values.data_ptr<float>() + values.numel()};
}

std::unique_ptr<Network> load_model(const std::string& path, const Dataset* data) {
  return load_network(path, data ? data->image_shape() : std::vector<int64_t>{});
}

}  // namespace prism::cli
