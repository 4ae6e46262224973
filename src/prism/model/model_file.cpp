#include "prism/model/model_file.h"

#include <cstring>
#include <fstream>

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/model/torchscript.h"
#include "prism/model/zoo.h"

namespace prism {
namespace {

constexpr char kMagic[] = "PRISMMDL";
constexpr uint32_t kModelFileVersion = 1;
constexpr uint64_t kMaxModelBytes = uint64_t{4} << 30;
constexpr uint64_t kMaxHeaderBytes = 64 << 20;

template <typename T>
T read_le(const uint8_t* p) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(p[i]) << (8 * i);
  return value;
}
template <typename T>
void write_le(std::ostream& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.put(static_cast<char>((value >> (8 * i)) & 0xff));
}

struct Header {
  nlohmann::json json;
  size_t data_offset;
};

Header parse_header(const uint8_t* data, size_t size, const std::string& source) {
  require(size >= 8 && std::memcmp(data, kMagic, 8) == 0,
          source + " is not a prism model file; give a file written by `prism train` or a TorchScript .pt");
  require(size >= 20, source + " is truncated (incomplete header); retrain or re-copy the model");
  const auto version = read_le<uint32_t>(data + 8);
  require(version == kModelFileVersion, source + " is a prism model file of version " + std::to_string(version) +
                                   "; this prism reads version " + std::to_string(kModelFileVersion));
  const auto length = read_le<uint64_t>(data + 12);
  require(length <= kMaxHeaderBytes && 20 + length <= size, source + " is truncated or corrupt (header)");
  Header header;
  try {
    header.json = nlohmann::json::parse(data + 20, data + 20 + length);
  } catch (const std::exception&) {
    throw Error(source + " is corrupt (its header is not valid JSON); retrain or re-copy the model");
  }
  require(header.json.is_object(), source + " is corrupt (header is not an object)");
  header.data_offset = 20 + length;
  return header;
}

template <typename T>
T field(const nlohmann::json& json, const char* key, const std::string& source) {
  try {
    return json.at(key).get<T>();
  } catch (const std::exception&) {
    throw Error(source + " is corrupt: its header lacks a valid '" + key + "'");
  }
}

}  // namespace

void save_network(Network& network, const std::filesystem::path& path, const nlohmann::json& extra) {
  const ZooOptions& options = zoo_options(network);
  nlohmann::json header = {{"architecture", options.architecture},
                           {"input_shape", network.input_shape()},
                           {"num_classes", network.num_classes()},
                           {"width", options.width},
                           {"seed", options.seed},
                           {"class_names", network.class_names()},
                           {"normalization",
                            {{"mean", network.normalization().mean}, {"std", network.normalization().std}}},
                           {"extra", extra}};
  std::vector<torch::Tensor> tensors;
  uint64_t offset = 0;
  for (auto& [name, tensor] : zoo_state(network)) {
    auto cpu = tensor.detach().to(torch::kCPU).contiguous();
    require(cpu.scalar_type() == torch::kFloat32 || cpu.scalar_type() == torch::kInt64,
            "internal: cannot save tensor " + name);
    header["tensors"].push_back({{"name", name},
                                 {"dtype", cpu.scalar_type() == torch::kFloat32 ? "float32" : "int64"},
                                 {"shape", cpu.sizes().vec()},
                                 {"offset", offset}});
    offset += cpu.numel() * cpu.element_size();
    tensors.push_back(cpu);
  }
  header["data_bytes"] = offset;
  const std::string text = header.dump();
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(kMagic, 8);
    write_le<uint32_t>(out, kModelFileVersion);
    write_le<uint64_t>(out, text.size());
    out << text;
    for (const auto& t : tensors) out.write(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  });
}

std::unique_ptr<Network> parse_network(const std::vector<uint8_t>& bytes, const std::string& source) {
  const Header header = parse_header(bytes.data(), bytes.size(), source);
  const auto& json = header.json;
  ZooOptions options;
  options.architecture = field<std::string>(json, "architecture", source);
  options.input_shape = field<std::vector<int64_t>>(json, "input_shape", source);
  options.num_classes = field<int64_t>(json, "num_classes", source);
  options.width = field<int64_t>(json, "width", source);
  require(options.input_shape.size() >= 1 && options.input_shape.size() <= 3,
          source + " is corrupt: input_shape is not [C, H, W], [C, T] or [F]");
  for (auto d : options.input_shape) require(d >= 1 && d <= 1 << 20, source + " is corrupt: absurd input shape");
  require(options.num_classes >= 2 && options.num_classes <= 100000, source + " is corrupt: absurd class count");
  auto network = make_zoo_network(options);

  Normalization norm;
  if (json.contains("normalization")) {
    norm.mean = field<std::vector<float>>(json["normalization"], "mean", source);
    norm.std = field<std::vector<float>>(json["normalization"], "std", source);
    require(norm.mean.size() == norm.std.size(), source + " is corrupt: normalisation mean and std differ in length");
  }
  set_metadata(*network, options.input_shape, options.num_classes,
               field<std::vector<std::string>>(json, "class_names", source), norm);

  const uint64_t data_bytes = field<uint64_t>(json, "data_bytes", source);
  require(bytes.size() - header.data_offset == data_bytes,
          source + " is truncated or corrupt: " + std::to_string(bytes.size() - header.data_offset) +
              " bytes of weights where its header promises " + std::to_string(data_bytes));
  const auto entries = field<nlohmann::json>(json, "tensors", source);
  auto state = zoo_state(*network);
  require(entries.is_array() && entries.size() == state.size(),
          source + " does not match the '" + options.architecture + "' architecture (" +
              std::to_string(entries.is_array() ? entries.size() : 0) + " tensors, the architecture has " +
              std::to_string(state.size()) + ")");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < state.size(); ++i) {
    auto& [name, target] = state[i];
    const auto& entry = entries[i];
    const auto stored_name = field<std::string>(entry, "name", source);
    const auto shape = field<std::vector<int64_t>>(entry, "shape", source);
    const auto dtype = field<std::string>(entry, "dtype", source);
    const auto offset = field<uint64_t>(entry, "offset", source);
    require(stored_name == name && shape == target.sizes().vec(),
            source + " does not match the '" + options.architecture + "' architecture: tensor '" + stored_name +
                "' " + shape_string(shape) + " where '" + name + "' " + shape_string(target.sizes()) + " is expected");
    const bool is_float = target.scalar_type() == torch::kFloat32;
    require(dtype == (is_float ? "float32" : "int64"), source + " is corrupt: tensor '" + name + "' has dtype " + dtype);
    const uint64_t length = target.numel() * target.element_size();
    require(offset <= data_bytes && length <= data_bytes - offset,
            source + " is corrupt: tensor '" + name + "' lies outside the file");
    std::memcpy(target.data_ptr(), bytes.data() + header.data_offset + offset, length);
  }
  for (const auto& [name, tensor] : zoo_state(*network))
    require(!tensor.is_floating_point() || torch::isfinite(tensor).all().item<bool>(),
            source + " holds NaN or infinite values in '" + name + "'; retrain the model");
  return network;
}

std::unique_ptr<Network> load_network(const std::filesystem::path& path, const std::vector<int64_t>& input_shape) {
  require(std::filesystem::exists(path), "model file not found: " + path.string() +
                                             "; train one with `prism train` or give a TorchScript .pt");
  char magic[8] = {};
  std::ifstream(path, std::ios::binary).read(magic, sizeof magic);
  // A TorchScript model does not record its input shape: without one its layers are known, and running it
  // asks for data.
  if (std::memcmp(magic, "PK\x03\x04", 4) == 0) return load_torchscript(path, input_shape);
  return parse_network(read_file(path, kMaxModelBytes), path.string());
}

}  // namespace prism
