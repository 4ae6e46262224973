#include "prism/core/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "prism/core/error.h"

namespace prism {
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_raw(const fs::path& path, uint64_t max_bytes) {
  std::error_code ec;
  require(fs::exists(path, ec), "file not found: " + path.string());
  require(!fs::is_directory(path, ec), path.string() + " is a directory; give a file");
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot read " + path.string() + ": " + std::strerror(errno));
  const uint64_t size = fs::file_size(path, ec);
  require(!ec, "cannot read the size of " + path.string());
  require(size <= max_bytes, path.string() + " is " + std::to_string(size) +
                                 " bytes, more than the " + std::to_string(max_bytes) +
                                 " this reader accepts");
  std::vector<uint8_t> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  require(static_cast<uint64_t>(in.gcount()) == size, "short read from " + path.string());
  return bytes;
}

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& packed, const fs::path& path,
                            uint64_t max_bytes) {
  z_stream stream{};
  require(inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK, "zlib failed to initialise");
  stream.next_in = const_cast<Bytef*>(packed.data());
  stream.avail_in = static_cast<uInt>(packed.size());
  std::vector<uint8_t> out;
  uint8_t chunk[1 << 16];
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    stream.next_out = chunk;
    stream.avail_out = sizeof(chunk);
    status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      inflateEnd(&stream);
      throw Error(path.string() + " is not a valid gzip file (" +
                  (stream.msg ? stream.msg : "truncated") + "); re-download or decompress it");
    }
    const size_t produced = sizeof(chunk) - stream.avail_out;
    if (out.size() + produced > max_bytes) {
      inflateEnd(&stream);
      throw Error(path.string() + " inflates to more than " + std::to_string(max_bytes) +
                  " bytes, more than this reader accepts");
    }
    out.insert(out.end(), chunk, chunk + produced);
    if (status == Z_OK && stream.avail_in == 0 && produced == 0) {
      inflateEnd(&stream);
      throw Error(path.string() + " is a truncated gzip file; re-download it");
    }
  }
  inflateEnd(&stream);
  return out;
}

// The temporary files being written, in fixed slots a signal handler can read without allocating.
constexpr int kSlots = 32;
constexpr size_t kPathBytes = 4096;
char g_temporary[kSlots][kPathBytes];
std::atomic<bool> g_claimed[kSlots];
std::atomic<bool> g_ready[kSlots];

extern "C" void remove_temporaries_and_end(int signal) {
  for (int i = 0; i < kSlots; ++i)
    if (g_ready[i].load()) unlink(g_temporary[i]);  // async-signal-safe
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

}  // namespace

int register_temporary(const std::string& path) {
  if (path.size() >= kPathBytes) return -1;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_claimed[i].compare_exchange_strong(expected, true)) {
      std::memcpy(g_temporary[i], path.c_str(), path.size() + 1);
      g_ready[i].store(true);
      return i;
    }
  }
  return -1;  // more writes in flight than slots: this one is not cleaned up on a signal
}

void unregister_temporary(int slot) {
  if (slot < 0) return;
  g_ready[slot].store(false);
  g_claimed[slot].store(false);
}

void remove_temporaries_on_interrupt() {
  std::signal(SIGINT, remove_temporaries_and_end);
  std::signal(SIGTERM, remove_temporaries_and_end);
}

std::vector<uint8_t> read_file(const fs::path& path, uint64_t max_bytes) {
  auto bytes = read_raw(path, max_bytes);
  const bool gzip = bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
  return gzip ? gunzip(bytes, path, max_bytes) : bytes;
}

void make_directory(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  require(!fs::exists(dir, ec), dir.string() + " exists and is not a folder; choose another --out");
  fs::create_directories(dir, ec);
  require(!ec, "cannot create folder " + dir.string() + ": " + ec.message());
}

DirectoryLock::DirectoryLock(const fs::path& dir) {
  make_directory(dir);
  const auto path = dir / ".prism-lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  require(fd_ >= 0, "cannot create " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw Error("another prism command is writing " + dir.string() + " right now; wait for it to finish or choose another --out");
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

void write_file_atomic(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  static std::atomic<int> counter{0};
  if (path.has_parent_path()) make_directory(path.parent_path());
  const fs::path temporary = path.string() + ".tmp." + std::to_string(getpid()) + "." +
                             std::to_string(counter++);
  const int slot = register_temporary(temporary.string());
  try {
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      require(out.good(), "cannot write " + temporary.string() + ": " + std::strerror(errno));
      write(out);
      out.flush();
      require(out.good(), "writing " + path.string() + " failed (disk full?)");
    }
    std::error_code ec;
    fs::rename(temporary, path, ec);
    require(!ec, "cannot move " + temporary.string() + " to " + path.string() + ": " + ec.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    unregister_temporary(slot);
    throw;
  }
  unregister_temporary(slot);
}

void write_file_atomic(const fs::path& path, const std::string& content) {
  write_file_atomic(path, [&](std::ostream& out) { out.write(content.data(), content.size()); });
}

std::string file_fingerprint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot open " + path.string() + ": " + std::strerror(errno));
  uLong crc = crc32(0L, Z_NULL, 0);
  uint64_t size = 0;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<uInt>(in.gcount());
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buffer.data()), got);
    size += got;
  }
  char text[40];
  std::snprintf(text, sizeof text, "crc32:%08lx:%llu", crc, static_cast<unsigned long long>(size));
  return text;
}

std::string numbered_name(const char* pattern, int64_t number) {
  char name[96];
  std::snprintf(name, sizeof name, pattern, static_cast<long long>(number));
  return name;
}

}  // namespace prism
