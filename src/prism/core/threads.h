// Thread count for LibTorch's intra-op pool and OpenMP (Debian's build defaults to one thread).
#pragma once

namespace prism {

// Number of cores this process may use.
int available_cores();

// Uses `count` threads for tensor operations; 0 or fewer is an error.
void set_threads(int count);

// Threads of OpenBLAS's own pool (nothing happens where the BLAS is not OpenBLAS); 0 or fewer is an error. The CLI
// uses one: its threads and OpenMP's spin against each other on the cores, so that a warm `prism demo` took 55 s
// with two BLAS threads and 43 s with one (bench/RESULTS.md); --blas-threads gives more to BLAS-bound work.
void set_blas_threads(int count);

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
