#include "prism/model/precision.h"

#include "prism/core/error.h"

namespace prism {

namespace {
thread_local Precision current = Precision::kFloat32;
}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFloat32;
  if (name == "bf16") return Precision::kBFloat16;
  throw Error("unknown precision '" + name + "'; use fp32 or bf16");
}

std::string precision_name(Precision precision) { return precision == Precision::kBFloat16 ? "bf16" : "fp32"; }

bool cpu_has_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

double relative_error(const torch::Tensor& approximate, const torch::Tensor& exact) {
  return (approximate - exact).norm().item<double>() / exact.norm().item<double>();
}

bool within_bf16_error(const torch::Tensor& approximate, const torch::Tensor& exact) {
  return (approximate - exact).norm().item<double>() <= kBf16Tolerance * exact.norm().item<double>() + 1e-6;
}

Precision current_precision() { return current; }
void set_current_precision(Precision precision) { current = precision; }

PrecisionScope::PrecisionScope(Precision precision) : previous_(current) { current = precision; }
PrecisionScope::~PrecisionScope() { current = previous_; }

}  // namespace prism
