// How the C library's allocator treats the large, short-lived buffers of tensor code.
#pragma once

namespace prism {

// Every batch of a pass frees and allocates the same large activations again. glibc hands blocks above its mmap
// threshold (128 KiB at first) back to the kernel when they are freed, so each batch faults its pages in and the
// kernel zeroes them anew: a quarter of a warm `prism demo`'s CPU time went to the kernel. This keeps freed memory
// in the process for reuse (blocks up to 32 MiB from the heap, 1 GiB kept before trimming). Call it once, first.
void keep_freed_memory();

}  // namespace prism
