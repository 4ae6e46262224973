#include "prism/explain/data/tracin.h"

#include "prism/core/error.h"
#include "prism/explain/data/last_layer.h"
#include "prism/model/model_file.h"

namespace prism {

TracIn::TracIn(TracInOptions options) : options_(std::move(options)) {
  require(options_.learning_rates.empty() || options_.learning_rates.size() == options_.checkpoints.size(),
          "tracin: give one learning rate per checkpoint (" + std::to_string(options_.checkpoints.size()) +
              " checkpoints, " + std::to_string(options_.learning_rates.size()) + " learning rates)");
}

nlohmann::json TracIn::options() const {
  return {{"checkpoints", options_.checkpoints}, {"learning_rates", options_.learning_rates}};
}

Network& TracIn::checkpoint(size_t t, Network& network) {
  if (options_.checkpoints.empty()) return network;
  if (loaded_.size() != options_.checkpoints.size()) {
    loaded_.clear();
    for (const auto& path : options_.checkpoints) {
      require(std::filesystem::exists(path), "tracin: checkpoint " + path + " is missing; re-train with prism train "
                                             "(it saves one per epoch) or re-run the fit");
      loaded_.push_back(load_network(path, network.input_shape()));
    }
  }
  return *loaded_[t];
}

void TracIn::fit(Network& network, const Dataset& train) {
  features_.clear(), gradients_.clear(), loaded_.clear();
  const size_t count = std::max<size_t>(1, options_.checkpoints.size());
  for (size_t t = 0; t < count; ++t) {
    auto& net = checkpoint(t, network);
    const auto layer = last_linear_layer(net);
    bias_ = layer.bias.defined();
    const auto phi = penultimate_features(net, layer, train.images,
                                          "features of " + train.name + " at checkpoint " + std::to_string(t + 1));
    features_.push_back(phi);
    gradients_.push_back(logit_gradients(last_layer_logits(layer, phi), train.labels).to(torch::kFloat32));
  }
}

torch::Tensor TracIn::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  require(!features_.empty(), "TracIn is not fitted");
  auto total = torch::zeros({inputs.size(0), train_size()}, torch::kFloat32);
  for (size_t t = 0; t < features_.size(); ++t) {
    auto& net = checkpoint(t, network);
    const auto layer = last_linear_layer(net);
    const auto phi = penultimate_features(net, layer, inputs);
    const auto g = logit_gradients(last_layer_logits(layer, phi), targets).to(torch::kFloat32);
    const double rate = options_.learning_rates.empty() ? 1.0 : options_.learning_rates[t];
    auto kernel = phi.matmul(features_[t].t());
    if (bias_) kernel += 1;
    total += rate * kernel * g.matmul(gradients_[t].t());
  }
  return total;
}

torch::Tensor TracIn::self_influence() const {
  auto total = torch::zeros({train_size()}, torch::kFloat32);
  for (size_t t = 0; t < features_.size(); ++t) {
    const double rate = options_.learning_rates.empty() ? 1.0 : options_.learning_rates[t];
    total += rate * (features_[t].pow(2).sum(1) + (bias_ ? 1 : 0)) * gradients_[t].pow(2).sum(1);
  }
  return total;
}

std::map<std::string, torch::Tensor> TracIn::state() const {
  std::map<std::string, torch::Tensor> s = {{"bias", torch::tensor({bias_ ? 1 : 0}, torch::kInt64)}};
  for (size_t t = 0; t < features_.size(); ++t) {
    s["features_" + std::to_string(t)] = features_[t];
    s["gradients_" + std::to_string(t)] = gradients_[t];
  }
  return s;
}

void TracIn::set_state(const std::map<std::string, torch::Tensor>& s) {
  bias_ = s.at("bias")[0].item<int64_t>() != 0;
  features_.clear(), gradients_.clear();
  const size_t count = std::max<size_t>(1, options_.checkpoints.size());
  for (size_t t = 0; t < count; ++t) {
    features_.push_back(s.at("features_" + std::to_string(t)));
    gradients_.push_back(s.at("gradients_" + std::to_string(t)));
    require(features_[t].dim() == 2 && gradients_[t].dim() == 2 && features_[t].size(0) == features_[0].size(0) &&
                gradients_[t].size(0) == features_[0].size(0),
            "the TracIn fit's arrays do not fit together; re-run the fit");
  }
}

}  // namespace prism
