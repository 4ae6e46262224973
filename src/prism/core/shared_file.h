// A file that the ranks of an MPI run (core/ranks.h) fill in place, each its own byte ranges, and that appears at
// its path whole or not at all: rank 0 creates a temporary file of the full size beside the path (removed on
// SIGINT, SIGTERM or an exception, as write_file_atomic's are), every rank writes into it by offset, and commit()
// moves it to the path once all have written. With one rank it is a plain atomic write by offset.
#pragma once
#include <cstdint>
#include <filesystem>

namespace prism {

class SharedFileWriter {
 public:
  // Every rank constructs it at the same point (rank 0 creates the file, the others then open it).
  SharedFileWriter(const std::filesystem::path& path, uint64_t bytes);
  ~SharedFileWriter();
  SharedFileWriter(const SharedFileWriter&) = delete;
  SharedFileWriter& operator=(const SharedFileWriter&) = delete;

  void write(uint64_t offset, const void* data, uint64_t bytes);
  // Every rank calls it: waits for all the ranks' writes, then rank 0 moves the file to its path.
  void commit();

 private:
  std::filesystem::path path_, temporary_;
  uint64_t bytes_ = 0;
  int fd_ = -1, slot_ = -1;
  bool committed_ = false;
};

}  // namespace prism
