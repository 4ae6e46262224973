// Inference mode (issue 17): forward passes of many images through prism's compiled graph (InferencePass)
// against the eager pass prism used before (Network::forward in batches, no autograd) and, for a scripted
// model, LibTorch's own module forward; in the same process, median of the rounds. The floor: the model's
// multiply-adds (conv and linear layers, from the layer shapes) at the peak of the machine's best dense kernel,
// measured in the same run (the faster of oneDNN's and OpenBLAS's fp32 products for fp32, oneDNN's bf16 product for the
// bf16 pass, whose agreement with fp32 is printed too).
//   build/bench/bench_inference [images=4096] [rounds=3] [scripted.pt=build/tests/fixtures/tv_resnet50.pt]
#include <prism/prism.h>
#include <torch/script.h>

#include <cstdio>
#include <filesystem>

#include "bench_util.h"

namespace {

// Multiply-adds per image of the conv and linear layers, from one eager pass that reads every layer.
double macs_per_image(prism::Network& network) {
  const auto& s = network.input_shape();
  const auto x = torch::rand({1, s[0], s[1], s[2]});
  std::map<std::string, torch::Tensor> outputs;
  prism::TapSet every;
  for (const auto& layer : network.layers()) every.capture(layer.name, &outputs[layer.name]);
  torch::NoGradGuard no_grad;
  network.forward(x, every);
  double macs = 0;
  for (const auto& layer : network.layers()) {
    if (layer.kind != "conv" && layer.kind != "linear") continue;
    const auto parameters = network.layer_parameters(layer.name);
    if (!parameters || !outputs[layer.name].defined()) continue;
    const auto& weight = parameters->weight;
    macs += double(outputs[layer.name].numel()) * double(weight.numel() / weight.size(0));
  }
  return macs;
}

// GFLOP/s of a 2048³ product: oneDNN fp32 (mkldnn_linear), bf16 (matmul of bf16 tensors, oneDNN), OpenBLAS fp32.
struct Peaks {
  double onednn_fp32, onednn_bf16, openblas_fp32;
  double best_fp32() const { return std::max(onednn_fp32, openblas_fp32); }  // the fp32 floor's kernel
};
Peaks measure_peaks() {
  const int64_t n = 2048;
  const double flops = 2.0 * n * n * n;
  const auto a = torch::randn({n, n}), b = torch::randn({n, n});
  const auto a_dnn = a.to_mkldnn(), b_dnn = b.to_mkldnn();
  const auto a16 = a.to(torch::kBFloat16), b16 = b.to(torch::kBFloat16);
  torch::NoGradGuard no_grad;
  Peaks p;
  p.onednn_fp32 = flops / prism::bench::median_seconds(5, [&] { at::mkldnn_linear(a_dnn, b_dnn, {}); }) / 1e9;
  p.onednn_bf16 = flops / prism::bench::median_seconds(5, [&] { torch::matmul(a16, b16); }) / 1e9;
  p.openblas_fp32 = flops / prism::bench::median_seconds(5, [&] { torch::matmul(a, b); }) / 1e9;
  return p;
}

void compare(const std::string& name, prism::Network& network, const torch::Tensor& images, int rounds,
             const Peaks& peaks, torch::jit::Module* module) {
  network.set_training(false);
  const int64_t batch = 256;
  const auto eager = prism::bench::median_seconds(rounds, [&] {
    torch::NoGradGuard no_grad;
    for (int64_t start = 0; start < images.size(0); start += batch)
      network.forward(images.narrow(0, start, std::min(batch, images.size(0) - start)));
  });
  double plain = 0;
  if (module) {
    const auto normalized = prism::normalize(images, network.normalization());
    plain = prism::bench::median_seconds(rounds, [&] {
      torch::NoGradGuard no_grad;
      for (int64_t start = 0; start < images.size(0); start += batch)
        module->forward({normalized.narrow(0, start, std::min(batch, images.size(0) - start))});
    });
  }
  double compile = 0;
  const auto timed_pass = [&](prism::Precision precision) {
    return prism::bench::median_seconds(rounds, [&] {
      const auto begin = std::chrono::steady_clock::now();
      prism::InferenceOptions options;
      options.batch_size = batch;
      options.compile_from = 0;  // measured here for every input size
      options.precision = precision;
      prism::InferencePass pass(network, {}, options);
      bool first = true;
      pass.for_each_batch(images, [&](int64_t, const std::vector<torch::Tensor>&) {
        if (first && precision == prism::Precision::kFloat32)
          compile = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        first = false;
      });
      if (pass.precision() != precision)
        std::fprintf(stderr, "bench_inference: %s did not compile in %s\n", name.c_str(),
                     prism::precision_name(precision).c_str());
    });
  };
  const auto compiled = timed_pass(prism::Precision::kFloat32);
  const auto compiled_bf16 = timed_pass(prism::Precision::kBFloat16);
  // bf16's agreement with float32: the relative error of the logits and how often the top class is the same.
  prism::InferenceOptions fp32_options, bf16_options;
  fp32_options.compile_from = bf16_options.compile_from = 0;
  bf16_options.precision = prism::Precision::kBFloat16;
  const auto logits = prism::infer(network, images, {}, fp32_options).at(0);
  const auto logits_bf16 = prism::infer(network, images, {}, bf16_options).at(0);
  const double relative_error = ((logits_bf16 - logits).norm() / logits.norm()).item<double>();
  const double same_class = logits_bf16.argmax(1).eq(logits.argmax(1)).to(torch::kFloat64).mean().item<double>();
  const double n = double(images.size(0));
  const double flops = n * 2 * macs_per_image(network);
  std::printf("| %s | %ld | %.0f | %s | %.0f | %.0f | %.2f | %.2f s | %.2f | %.2f | %.1e / %.4f |\n", name.c_str(),
              long(images.size(0)), n / eager, module ? (std::to_string(int(n / plain))).c_str() : "—", n / compiled,
              n / compiled_bf16, eager / compiled, compile, compiled / (flops / (peaks.best_fp32() * 1e9)),
              compiled_bf16 / (flops / (peaks.onednn_bf16 * 1e9)), relative_error, same_class);
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t count = argc > 1 ? std::atol(argv[1]) : 4096;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::filesystem::path scripted = argc > 3 ? argv[3] : "build/tests/fixtures/tv_resnet50.pt";
  prism::keep_freed_memory();
  prism::set_threads(prism::available_cores());
  const auto peaks = measure_peaks();
  std::printf("peak of a 2048^3 product: oneDNN fp32 %.0f GFLOP/s, oneDNN bf16 %.0f GFLOP/s, OpenBLAS fp32 %.0f GFLOP/s\n\n",
              peaks.onednn_fp32, peaks.onednn_bf16, peaks.openblas_fp32);
  std::printf("| model | images | eager img/s | LibTorch module img/s | compiled fp32 img/s | compiled bf16 img/s | "
              "fp32 speed-up | compile | x fp32 floor | x bf16 floor | bf16 logits: relative error / same class |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  const auto fashion = prism::load_dataset("fashion-mnist", prism::Split::Test);
  const auto images = fashion.images.narrow(0, 0, std::min<int64_t>(count, fashion.size()));
  for (const std::string architecture : {"cnn", "resnet18"}) {
    prism::ZooOptions options;
    options.architecture = architecture;
    auto network = prism::make_zoo_network(options, fashion);
    compare(architecture, *network, images, rounds, peaks, nullptr);
  }
  if (std::filesystem::exists(scripted)) {
    auto module = torch::jit::load(scripted.string());
    module.eval();
    auto network = prism::load_network(scripted, {3, 64, 64});
    const auto rgb = torch::rand({std::min<int64_t>(count, 512), 3, 64, 64});
    compare(scripted.filename().string() + " (64x64)", *network, rgb, rounds, peaks, &module);
  }
  return 0;
}
