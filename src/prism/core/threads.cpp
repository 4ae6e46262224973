#include "prism/core/threads.h"

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

}  // namespace prism
