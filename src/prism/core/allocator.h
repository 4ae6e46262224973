// How the C library's allocator treats the large, short-lived buffers of tensor code.
#pragma once

#include <algorithm>
#include <cstdint>

namespace prism {

// Every batch of a pass frees and allocates the same large activations again. glibc hands blocks above its mmap
// threshold (128 KiB at first) back to the kernel when they are freed, so each batch faults its pages in and the
// kernel zeroes them anew: a quarter of a warm `prism demo`'s CPU time went to the kernel. This keeps freed memory
// in the process for reuse (blocks up to 32 MiB from the heap, 1 GiB kept before trimming). Call it once, first.
void keep_freed_memory();

// Blocks above 32 MiB (glibc's largest threshold) are still mapped afresh on every allocation, so passes run a
// batch in chunks whose largest activation stays under a budget: a forward-only pass holds a few activations at
// a time (3× faster than whole 256-image batches of a ResNet-50, bench/RESULTS.md); a backward pass holds them
// all, and runs fastest where one chunk's stay near the caches (IG on 256-image batches ran at half the speed of
// 32-image chunks).
constexpr int64_t kInferenceChunkBytes = 16 << 20;
constexpr int64_t kGradientChunkBytes = 8 << 20;

// The samples per chunk of `samples` whose largest activation (`bytes_per_sample` each) fits `budget`: equal
// chunks, so that the last one is not a sliver.
inline int64_t chunk_size(int64_t samples, int64_t bytes_per_sample, int64_t budget) {
  const int64_t fitting = std::clamp<int64_t>(budget / std::max<int64_t>(1, bytes_per_sample), 1, samples);
  const int64_t chunks = (samples + fitting - 1) / fitting;
  return (samples + chunks - 1) / chunks;
}

}  // namespace prism
