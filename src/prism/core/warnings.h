// LibTorch's warnings (a TorchScript model's warnings.warn, deprecations) through prism's own output.
#pragma once

namespace prism {

// From now on each distinct LibTorch warning prints once, as one line "prism: warning: ..." on stderr, and
// nothing in quiet mode; never LibTorch's default (glog) lines.
void route_libtorch_warnings();

}  // namespace prism
