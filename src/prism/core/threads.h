// Thread count for LibTorch's intra-op pool and OpenMP (Debian's build defaults to one thread).
#pragma once

namespace prism {

// Number of cores this process may use.
int available_cores();

// Uses `count` threads for tensor operations; 0 or fewer is an error.
void set_threads(int count);

// OpenBLAS's own thread pool fights OpenMP's over the small matrix products of mini-batch training: on 2
// cores a batch-16 step of the cnn takes twice as long with two BLAS threads as with one (bench/RESULTS.md).
// While this object lives, BLAS runs on one thread (LibTorch's OpenMP pool still parallelises convolutions);
// the previous count comes back after. Nothing happens where the BLAS is not OpenBLAS.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace prism
