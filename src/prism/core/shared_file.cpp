#include "prism/core/shared_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/core/ranks.h"

namespace prism {
namespace fs = std::filesystem;

SharedFileWriter::SharedFileWriter(const fs::path& path, uint64_t bytes) : path_(path), bytes_(bytes) {
  std::string temporary;
  if (ranks::is_root()) {
    if (path.has_parent_path()) make_directory(path.parent_path());
    temporary = path.string() + ".tmp." + std::to_string(getpid()) + ".shared";
    slot_ = register_temporary(temporary);
    fd_ = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0 || ::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) {
      const std::string reason = std::strerror(errno);
      if (fd_ >= 0) ::unlink(temporary.c_str());
      unregister_temporary(slot_);
      throw Error("cannot create " + temporary + ": " + reason);
    }
  }
  temporary_ = ranks::broadcast(temporary);  // rank 0 has made it when the others receive the name
  if (!ranks::is_root()) {
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CLOEXEC);
    require(fd_ >= 0, "cannot open " + temporary_.string() + " that rank 0 created: " + std::strerror(errno) +
                          " (the ranks need a file system they all see)");
  }
}

SharedFileWriter::~SharedFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (ranks::is_root() && !committed_) {
    std::error_code ignored;
    fs::remove(temporary_, ignored);
  }
  if (slot_ >= 0) unregister_temporary(slot_);
}

void SharedFileWriter::write(uint64_t offset, const void* data, uint64_t bytes) {
  require(offset + bytes <= bytes_, "a write past the end of " + path_.string());
  const auto* from = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t done = ::pwrite(fd_, from, bytes, static_cast<off_t>(offset));
    require(done > 0, "writing " + path_.string() + " failed: " + std::strerror(errno) + " (disk full?)");
    from += done, offset += done, bytes -= done;
  }
}

void SharedFileWriter::commit() {
  require(::fsync(fd_) == 0, "writing " + path_.string() + " failed: " + std::strerror(errno));
  ranks::barrier();
  if (ranks::is_root()) {
    std::error_code ec;
    fs::rename(temporary_, path_, ec);
    require(!ec, "cannot move " + temporary_.string() + " to " + path_.string() + ": " + ec.message());
    committed_ = true;
  }
  ranks::barrier();  // the file is in place when any rank goes on
}

}  // namespace prism
