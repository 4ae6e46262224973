// Thread count for LibTorch's intra-op pool and OpenMP (Debian's build defaults to one thread).
#pragma once

namespace prism {

// Number of cores this process may use.
int available_cores();

// Uses `count` threads for tensor operations; 0 or fewer is an error.
void set_threads(int count);

}  // namespace prism
