// File helpers: bounded reads (plain or gzip) and atomic writes (temporary file, then rename).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace prism {

// Reads a whole file; a gzip file (by its magic bytes) is inflated. Refuses to return more than
// `max_bytes` so a corrupt or hostile file cannot make us allocate without bound.
std::vector<uint8_t> read_file(const std::filesystem::path& path, uint64_t max_bytes);

// Writes a file so that readers see either the old content or the complete new one: `write`
// fills a temporary file beside `path`, which is then renamed over it. On any exception the
// temporary file is removed and `path` is untouched.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write);
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

// Makes SIGINT and SIGTERM remove the temporary files of writes in progress before the process ends (with
// the signal's usual exit status), so an interrupted command leaves no partial file behind. The CLI calls it
// once at start.
void remove_temporaries_on_interrupt();

// Registers a temporary file for removal on SIGINT and SIGTERM (as write_file_atomic's are); returns the slot that
// unregister_temporary releases once the file is renamed or removed (-1 where no slot was free).
int register_temporary(const std::string& path);
void unregister_temporary(int slot);

// An exclusive lock on a folder that a command fills (a training run, a fit), held while the object lives, so
// two commands writing the same folder at once cannot interleave their files: the second is refused with a
// clear message. The lock is the file DIR/.prism-lock (flock; released by the kernel if the process dies).
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::filesystem::path& dir);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

// Creates `dir` (and parents); a clear error if it exists as a file or cannot be made.
void make_directory(const std::filesystem::path& dir);

// A file name with a number in it: numbered_name("grid-%03lld.png", 7) is "grid-007.png".
std::string numbered_name(const char* pattern, int64_t number);

// "crc32:1a2b3c4d:SIZE" of a file's bytes: tells whether a cache was built from this very file.
std::string file_fingerprint(const std::filesystem::path& path);

}  // namespace prism
