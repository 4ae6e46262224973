// The number format of forward-only passes (issue 17). bfloat16 keeps float32's range with an 8-bit mantissa:
// on a CPU with bf16 instructions (AVX-512 BF16) oneDNN runs its convolutions and products several times faster
// than in float32, at about 1e-2 relative error in the activations. Gradients, training and fits' solvers stay
// float32; only inference passes (predictions, embeddings, penultimate features, perturbation curves) change.
#pragma once
#include <torch/torch.h>

#include <string>

namespace prism {

enum class Precision { kFloat32, kBFloat16 };

// "fp32" or "bf16"; anything else is refused with the accepted names.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision precision);

// bf16 rounds every activation to an 8-bit significand (relative 2^-8) and the roundings add up through the
// layers: a bf16 output agrees with float32's where it lies within 5 % of its norm (what the inference pass checks
// its bf16 graph by, and what the last-layer attributors allow their bf16 features).
constexpr double kBf16Tolerance = 0.05;
// ‖approximate − exact‖ / ‖exact‖.
double relative_error(const torch::Tensor& approximate, const torch::Tensor& exact);
bool within_bf16_error(const torch::Tensor& approximate, const torch::Tensor& exact);

// Whether this CPU has bf16 instructions; without them bf16 passes run slower than float32 ones.
bool cpu_has_bf16();

// The precision of the inference passes built by this thread (float32 unless a PrecisionScope says otherwise).
// A scope, not an option of every method: the passes sit deep inside a dozen attributors and evaluations, the way
// torch.autocast scopes a dtype over whatever runs inside it. Fits record the precision that built them.
Precision current_precision();
// Sets it for this thread until set again: for bindings whose scopes are not C++ blocks (Python's `with`).
void set_current_precision(Precision precision);

class PrecisionScope {
 public:
  explicit PrecisionScope(Precision precision);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision previous_;
};

}  // namespace prism
