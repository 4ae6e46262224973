// Helpers shared by the tests: temporary folders, the real data, running the prism binary.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "prism/prism.h"

namespace prism::test {

// A fresh empty folder under the system's temporary folder, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_bytes(const std::filesystem::path& path);
std::string read_text(const std::filesystem::path& path);

// The Fashion-MNIST test split (cached: read once per test process).
const Dataset& fashion_test();
const Dataset& fashion_train();

struct CommandResult {
  int exit_code;
  std::string out, err;
};
// Runs the prism binary with `arguments` (a shell-quoted string).
CommandResult run_prism(const std::string& arguments);
// The same over `ranks` MPI ranks (mpirun, unbound so that each rank computes as one process would).
CommandResult run_prism_on_ranks(int ranks, const std::string& arguments);
// The mpirun command line that starts `ranks` ranks here (as root where the tests run as root).
std::string mpirun(int ranks);

// Runs headless Chromium (installed by scripts/setup) on `page` at `width` × 900 CSS pixels with extra `arguments`;
// its stdout and stderr.
CommandResult chromium(const std::filesystem::path& page, int width, const std::string& arguments);

// The message of the prism::Error that `run` throws; empty if it throws none.
std::string error_of(const std::function<void()>& run);

// Expects a failed command: non-zero exit and exactly one line on stderr containing `fragment`.
void expect_clean_failure(const CommandResult& result, const std::string& fragment);

// The folder the TorchScript fixture script wrote.
std::filesystem::path fixtures();

// The scripted linear model f_c(x) = w_c · x + b_c of the fixtures, its three fixture inputs and their targets.
struct LinearModel {
  std::unique_ptr<Network> net = load_network(fixtures() / "linear.pt", {1, 28, 28});
  torch::Tensor x = read_npy(fixtures() / "linear.input.npy");
  torch::Tensor targets = torch::tensor({2, 5, 9}, torch::kInt64);
  // w_c per sample, in the input's shape.
  torch::Tensor weights() const {
    const auto w = net->layer_parameters("1")->weight;  // nn.Sequential(Flatten, Linear): layer "1"
    return w.index_select(0, targets).view(x.sizes()).detach();
  }
};

// Fills `into` with what `build` writes into an empty folder, building it once for every test process of the
// suite: CTest runs each test in its own process, and a suite's set-up (training runs, fits) is the same each
// time. The built folder is kept under the fixtures folder, keyed by the prism binary's modification time (a
// rebuilt binary builds it again), behind a lock so that processes running at once build it once. `build` must
// only write inputs that do not depend on where they lie, and the tests change only their copy.
void build_once(const std::string& suite, const std::filesystem::path& into,
                const std::function<void(const std::filesystem::path&)>& build);

}  // namespace prism::test
