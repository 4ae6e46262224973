#include "prism/core/threads.h"

#include <dlfcn.h>
#include <omp.h>
#include <sched.h>
#include <torch/torch.h>

#include <string>
#include <thread>

#include "prism/core/error.h"

namespace prism {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void set_threads(int count) {
  require(count > 0, "--threads must be at least 1 (got " + std::to_string(count) + ")");
  omp_set_num_threads(count);
  torch::set_num_threads(count);
}

namespace {
// Looked up at run time: Debian's libblas.so.3 may be OpenBLAS, BLIS or the reference BLAS.
using SetThreads = void (*)(int);
using GetThreads = int (*)();
SetThreads openblas_set() { return reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")); }
GetThreads openblas_get() { return reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")); }
}  // namespace

void set_blas_threads(int count) {
  require(count > 0, "--blas-threads must be at least 1 (got " + std::to_string(count) + ")");
  if (auto set = openblas_set()) set(count);
}

SingleThreadedBlas::SingleThreadedBlas() {
  if (auto get = openblas_get(); get && openblas_set()) {
    previous_ = get();
    openblas_set()(1);
  }
}

SingleThreadedBlas::~SingleThreadedBlas() {
  if (previous_ > 0) openblas_set()(previous_);
}

}  // namespace prism
