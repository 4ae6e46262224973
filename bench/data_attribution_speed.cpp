// Data attribution on Fashion-MNIST (issue 6): DualView's fit against LIBLINEAR's MCSVM_CS on the same
// penultimate features, tolerance and C, in the same run; the share of support vectors per C; the time to
// explain 2,000 test points; the cache size; and the same figures for every baseline.
//   build/bench/bench_data_attribution [model.prism=runs/fmnist-cnn/model.prism] [train size=60000] [test points=2000]
#include <linear.h>
#include <prism/prism.h>

#include <chrono>
#include <cstdio>

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// LIBLINEAR's Crammer–Singer solver on the same features; returns its fit time.
double liblinear_fit_seconds(const torch::Tensor& x, const torch::Tensor& y, double C, double eps) {
  const int64_t n = x.size(0), d = x.size(1);
  const auto rows = x.to(torch::kFloat64).contiguous();
  std::vector<feature_node> nodes;
  nodes.reserve(n * (d + 1));
  std::vector<feature_node*> pointers(n);
  std::vector<double> labels(n);
  const double* values = rows.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    pointers[i] = nodes.data() + nodes.size();
    for (int64_t j = 0; j < d; ++j)
      if (values[i * d + j] != 0) nodes.push_back({static_cast<int>(j + 1), values[i * d + j]});
    nodes.push_back({-1, 0});
    labels[i] = static_cast<double>(y[i].item<int64_t>());
  }
  problem prob{static_cast<int>(n), static_cast<int>(d), labels.data(), pointers.data(), -1};
  parameter param{};
  param.solver_type = MCSVM_CS;
  param.C = C;
  param.eps = eps;
  set_print_string_function([](const char*) {});
  const auto start = std::chrono::steady_clock::now();
  model* m = train(&prob, &param);
  const double seconds = seconds_since(start);
  free_and_destroy_model(&m);
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string model = argc > 1 ? argv[1] : "runs/fmnist-cnn/model.prism";
  const int64_t train_size = argc > 2 ? std::atoll(argv[2]) : 60000;
  const int64_t test_size = argc > 3 ? std::atoll(argv[3]) : 2000;
  prism::keep_freed_memory();
  prism::set_threads(prism::available_cores());
  prism::set_quiet(true);
  const auto train = prism::random_subset(prism::load_dataset("fashion-mnist", prism::Split::Train), train_size, 0);
  const auto test = prism::random_subset(prism::load_dataset("fashion-mnist", prism::Split::Test), test_size, 0);
  auto network = prism::load_network(model, {1, 28, 28});
  network->set_training(false);
  const auto layer = prism::last_linear_layer(*network);
  auto start = std::chrono::steady_clock::now();
  const auto features = prism::penultimate_features(*network, layer, train.images);
  const double feature_seconds = seconds_since(start);
  torch::Tensor targets;
  {
    torch::NoGradGuard no_grad;
    targets = network->forward(test.images).argmax(1);
  }
  std::printf("model %s: %lld training samples, %lld features (extracted in %.1f s), %lld test points\n\n",
              model.c_str(), static_cast<long long>(train.size()), static_cast<long long>(features.size(1)), feature_seconds,
              static_cast<long long>(test.size()));

  std::printf("| C | DualView fit s | LIBLINEAR fit s | ratio | support vectors | passes | relative duality gap |\n"
              "| --- | --- | --- | --- | --- | --- | --- |\n");
  for (const double C : {1e-5, 1e-3, 1e-1}) {
    prism::CrammerSingerOptions options;
    options.C = C;
    start = std::chrono::steady_clock::now();
    const auto solution = prism::solve_crammer_singer(features, train.labels, 10, options);
    const double ours = seconds_since(start);
    const double reference = liblinear_fit_seconds(features, train.labels, C, options.tolerance);
    const double share = solution.alpha.ne(0).any(1).to(torch::kFloat64).mean().item<double>();
    std::printf("| %g | %.2f | %.2f | %.2f | %.1f %% | %lld | %.2e |\n", C, ours, reference, ours / reference,
                100 * share, static_cast<long long>(solution.iterations), solution.duality_gap / solution.primal);
  }

  // Explaining = the test points' features (one forward pass each, shared by all methods but TracIn's and
  // TRAK's per-checkpoint passes) plus the attribution itself.
  start = std::chrono::steady_clock::now();
  prism::penultimate_features(*network, layer, test.images);
  const double test_features = seconds_since(start);
  std::printf("\nforward pass to the features of the %lld test points: %.3f s\n\n", static_cast<long long>(test.size()), test_features);
  std::printf("| method | fit s | explain %lld s (with features) | cache MiB |\n| --- | --- | --- | --- |\n", static_cast<long long>(test.size()));
  const auto run = std::filesystem::absolute(model).parent_path();
  for (const auto& method : prism::data_methods()) {
    nlohmann::json options = nlohmann::json::object();
    if (method == "tracin") {  // over the training run's checkpoints, as prism influence fit does
      std::vector<std::string> files;
      for (const auto& entry : std::filesystem::directory_iterator(run / "checkpoints")) files.push_back(entry.path());
      std::sort(files.begin(), files.end());
      options["checkpoints"] = files;
    }
    auto attributor = prism::make_data_attributor(method, options);
    start = std::chrono::steady_clock::now();
    attributor->fit(*network, train);
    const double fit = seconds_since(start);
    start = std::chrono::steady_clock::now();
    const auto a = attributor->attribute(*network, test.images, targets);
    const double explain = seconds_since(start);
    double bytes = 0;
    for (const auto& [name, tensor] : attributor->state()) bytes += tensor.numel() * tensor.element_size();
    std::printf("| %s | %.2f | %.3f | %.1f |\n", method.c_str(), fit, explain, bytes / 1048576.0);
  }
}
