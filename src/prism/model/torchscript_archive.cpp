#include "prism/model/torchscript_archive.h"

#include <zip.h>

#include <array>
#include <memory>
#include <set>

#include "prism/core/error.h"

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
  require(records.count("data.pkl") && records.count("version"),
          foreign + "no " + folder + "data.pkl and " + folder + "version, so not written by PyTorch" + advice);
  require(has_code && records.count("constants.pkl"),
          foreign + "pickled Python objects without TorchScript code, as torch.save writes them" + advice);
  return data_sizes;
}

}  // namespace prism
