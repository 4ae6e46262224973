#include "prism/model/torchscript_archive.h"

#include <zip.h>

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "prism/core/error.h"
#include "prism/model/network.h"

namespace prism {
namespace {

struct ArchiveCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }  // opened read-only: nothing to write back
};
struct EntryCloser {
  void operator()(zip_file_t* entry) const { zip_fclose(entry); }
};

std::string open_error(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string reason = zip_error_strerror(&error);
  zip_error_fini(&error);
  return reason;
}

// Tensor data is stored uncompressed and only code is deflated, so a real archive's records are hardly larger
// than its file; a record claiming far more is a damaged header (or a zip bomb) that LibTorch would allocate.
std::uintmax_t max_unpacked_bytes(const std::filesystem::path& path) {
  return 4 * std::filesystem::file_size(path) + (std::uintmax_t{64} << 20);
}

// Decompresses record `index` into a scratch buffer: libzip checks its size and CRC-32 at its end.
void verify_record(zip_t* archive, zip_int64_t index, const std::string& damaged, const std::string& advice) {
  const std::string entry = zip_get_name(archive, index, 0);
  std::unique_ptr<zip_file_t, EntryCloser> file(zip_fopen_index(archive, index, 0));
  if (!file)
    throw Error(damaged + "record '" + entry + "' cannot be opened (" + zip_strerror(archive) + ")" + advice);
  static thread_local std::array<char, 1 << 16> buffer;
  zip_int64_t got = 0;
  while ((got = zip_fread(file.get(), buffer.data(), buffer.size())) > 0) {
  }
  if (got < 0)
    throw Error(damaged + "record '" + entry + "' fails its check (" + zip_file_strerror(file.get()) + ")" + advice);
}

// The bytes a non-empty strided tensor reads from its storage, offset + Σ (size − 1)·stride + 1 elements; none
// when that passes int64 (a damaged shape).
std::optional<int64_t> bytes_needed(const torch::Tensor& t) {
  int64_t elements = t.storage_offset(), step = 0, bytes = 0;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (__builtin_mul_overflow(t.size(d) - 1, t.stride(d), &step) ||
        __builtin_add_overflow(elements, step, &elements))
      return std::nullopt;
  if (__builtin_add_overflow(elements, 1, &elements) ||
      __builtin_mul_overflow(elements, static_cast<int64_t>(t.element_size()), &bytes))
    return std::nullopt;
  return bytes;
}

// LibTorch 1.13 builds each storage with the byte size data.pkl declares over the record it reads, without
// comparing the two: a record shortened in the archive's headers (CRC-32 and all) gives a tensor over a short or
// null buffer, which the first forward pass reads out of bounds (found by fuzz/fuzz_torchscript.cpp). So every
// tensor attribute (parameters, buffers) and tensor constant of the modules' code must lie inside its storage, and
// the storages must fit the data records: one record each, at least as large (the sizes matched largest first).
void check_tensor_storage(const torch::jit::Module& module, std::vector<uint64_t> record_sizes,
                          const std::string& source) {
  const std::string advice = "; save or copy the model again";
  std::map<const c10::StorageImpl*, uint64_t> storages;
  auto check = [&](const torch::Tensor& t, const std::string& name) {
    if (!t.defined() || t.layout() != torch::kStrided || t.numel() == 0) return;
    const std::string damaged = source + " is damaged: tensor " + name + " of shape " + shape_string(t.sizes());
    bool strides_ok = t.storage_offset() >= 0;
    for (int64_t d = 0; d < t.dim(); ++d) strides_ok = strides_ok && t.stride(d) >= 0;
    require(strides_ok, damaged + " has a negative stride or offset" + advice);
    require(t.storage().data() != nullptr, damaged + " has no data in the archive" + advice);
    const auto needed = bytes_needed(t);
    require(needed.has_value(),
            damaged + " and strides " + shape_string(t.strides()) + " spans more than 2^63 bytes" + advice);
    const auto held = static_cast<int64_t>(t.storage().nbytes());
    require(held >= *needed, damaged + " needs " + std::to_string(*needed) + " bytes but its storage holds " +
                                 std::to_string(held) + advice);
    storages[t.storage().unsafeGetStorageImpl()] = static_cast<uint64_t>(held);
  };
  for (const auto& attribute : module.named_attributes(/*recurse=*/true))
    if (attribute.value.isTensor()) check(attribute.value.toTensor(), "'" + attribute.name + "'");
  std::function<void(const torch::jit::Block*)> check_constants = [&](const torch::jit::Block* block) {
    for (const torch::jit::Node* node : block->nodes()) {
      if (node->kind() == c10::prim::Constant && node->output()->type()->cast<c10::TensorType>())
        check(node->t(c10::attr::value), "(a constant of the model's code)");
      for (const auto* inner : node->blocks()) check_constants(inner);
    }
  };
  for (const auto& submodule : module.modules())
    for (const auto& method : submodule.get_methods()) check_constants(method.graph()->block());

  std::vector<uint64_t> storage_sizes;
  for (const auto& [storage, bytes] : storages) storage_sizes.push_back(bytes);
  std::sort(storage_sizes.begin(), storage_sizes.end(), std::greater<>());
  std::sort(record_sizes.begin(), record_sizes.end(), std::greater<>());
  for (size_t i = 0; i < storage_sizes.size(); ++i)
    require(i < record_sizes.size() && storage_sizes[i] <= record_sizes[i],
            source + " is damaged: its tensors need a storage of " + std::to_string(storage_sizes[i]) +
                " bytes that no data record of the archive holds (a record is shorter than data.pkl says)" + advice);
}

}  // namespace

std::vector<uint64_t> check_torchscript_archive(const std::filesystem::path& path, const std::string& advice) {
  const std::string source = path.string();
  const std::string foreign = source + " is not a TorchScript archive: ", damaged = source + " is damaged: ";
  int code = 0;
  std::unique_ptr<zip_t, ArchiveCloser> archive(zip_open(source.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
  if (!archive) throw Error(foreign + "not a consistent zip file (" + open_error(code) + ")" + advice);
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  require(entries > 0, foreign + "an empty zip file" + advice);

  // torch.jit.save puts every record in one top-level folder.
  std::string folder;
  std::set<std::string> records;
  std::vector<uint64_t> data_sizes;
  bool has_code = false;
  std::uintmax_t unpacked = 0;
  const std::uintmax_t limit = max_unpacked_bytes(path);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive.get(), i, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_NAME) ||
        !(stat.valid & ZIP_STAT_SIZE))
      throw Error(damaged + "the header of record " + std::to_string(i) + " cannot be read" + advice);
    const std::string entry = stat.name;
    if (folder.empty()) folder = entry.substr(0, entry.find('/') + 1);
    require(!folder.empty() && entry.size() > folder.size() && entry.compare(0, folder.size(), folder) == 0,
            foreign + "record '" + entry + "' lies outside the archive's one top-level folder" + advice);
    unpacked += stat.size;
    require(unpacked <= limit, damaged + "record '" + entry + "' claims " + std::to_string(stat.size) +
                                   " bytes, more than the file can hold" + advice);
    verify_record(archive.get(), i, damaged, advice);
    const std::string record = entry.substr(folder.size());
    has_code = has_code || record.rfind("code/", 0) == 0;
    if (record.rfind("data/", 0) == 0) data_sizes.push_back(stat.size);
    records.insert(record);
  }
  // PyTorch's reader (caffe2/serialize/inline_container.cc) takes the version from .data/version where that
  // record exists (torch.jit.save writes it there for file-format version 6 and later, e.g. models that call
  // GELU) and from version otherwise.
  require(records.count("data.pkl") && (records.count("version") || records.count(".data/version")),
          foreign + "no " + folder + "data.pkl and " + folder + "version, so not written by PyTorch" + advice);
  require(has_code && records.count("constants.pkl"),
          foreign + "pickled Python objects without TorchScript code, as torch.save writes them" + advice);
  return data_sizes;
}

torch::jit::Module load_checked_archive(const std::filesystem::path& path, const std::string& advice) {
  const auto record_sizes = check_torchscript_archive(path, advice);
  torch::jit::Module module;
  try {
    module = torch::jit::load(path.string(), torch::kCPU);
  } catch (const std::exception& e) {
    throw Error(path.string() + " cannot be read by LibTorch (" + first_line(e) + ")" + advice);
  }
  check_tensor_storage(module, record_sizes, path.string());
  return module;
}

}  // namespace prism
