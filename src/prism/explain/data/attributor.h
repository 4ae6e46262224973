// The data-attribution interface: fit once on a network and its training set, then attribute test
// predictions to training samples, [B, N_train], and rank the training set by self-influence. Every method
// (DualView, representer points, TracIn, influence functions, TRAK, feature similarity, a random control)
// answers the same calls, so the evaluations can loop over them. Positive values support the prediction.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prism/core/json_options.h"
#include "prism/data/dataset.h"
#include "prism/model/fit_folder.h"
#include "prism/model/network.h"

namespace prism {

class DataAttributor {
 public:
  virtual ~DataAttributor() = default;
  virtual std::string name() const = 0;
  // Every option value.
  virtual nlohmann::json options() const = 0;
  // Computes what attribution needs from the training set (features, dual variables, gradients...).
  virtual void fit(Network& network, const Dataset& train) = 0;
  // Attributions [B, N_train] of the network's scores for `targets` [B] at `inputs` [B, C, H, W].
  virtual torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) = 0;
  // Self-influence [N_train] (high: the sample explains itself; mislabelled samples rank high).
  virtual torch::Tensor self_influence() const = 0;
  // What fit() computed, as named tensors (a fit folder stores each as NAME.npy), and figures of the fit.
  virtual std::map<std::string, torch::Tensor> state() const = 0;
  virtual void set_state(const std::map<std::string, torch::Tensor>& state) = 0;
  virtual nlohmann::json fit_report() const { return nlohmann::json::object(); }
  // Number of training samples the fit covers.
  virtual int64_t train_size() const = 0;
};

// The names the command line takes.
std::vector<std::string> data_methods();
// Every method's summary and options (key, help, default).
std::vector<MethodDoc> data_method_docs();

// A method by name with options from JSON (missing keys keep their defaults); unknown names or keys are
// errors that list the valid ones.
std::unique_ptr<DataAttributor> make_data_attributor(const std::string& name,
                                                     const nlohmann::json& options = nlohmann::json::object());

// The `k` largest (proponents) or smallest (opponents) attributions of each row: indices and values [B, k].
struct TopAttributions {
  torch::Tensor indices, values;
};
TopAttributions top_attributions(const torch::Tensor& attributions, int64_t k, bool largest = true);

// A fit folder (model/fit_folder.h): one NAME.npy per state tensor, then fit.json (method, options, provenance,
// report). `open_data_fit` checks every file and refuses damaged ones.
void save_data_fit(const std::filesystem::path& dir, const DataAttributor& attributor, const Provenance& provenance);
struct DataFit {
  std::unique_ptr<DataAttributor> attributor;
  nlohmann::json record;  // fit.json
};
DataFit open_data_fit(const std::filesystem::path& dir);

}  // namespace prism
