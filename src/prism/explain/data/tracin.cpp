#include "prism/explain/data/tracin.h"

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/core/progress.h"
#include "prism/explain/data/last_layer.h"
#include "prism/explain/data/parameter_gradients.h"

namespace prism {

TracIn::TracIn(TracInOptions options)
    : options_(std::move(options)), checkpoints_(options_.checkpoints, "tracin") {
  require(options_.learning_rates.empty() || options_.learning_rates.size() == options_.checkpoints.size(),
          "tracin: give one learning rate per checkpoint (" + std::to_string(options_.checkpoints.size()) +
              " checkpoints, " + std::to_string(options_.learning_rates.size()) + " learning rates)");
  require(options_.projection_dim >= 0, "tracin: projection_dim must be 0 (no projection) or positive");
}

SketchedGradients TracIn::sketch(Network& net, const torch::Tensor& images, const torch::Tensor& labels,
                                 const std::string& label) const {
  return sketched_gradients(net, gradient_parameters(net, options_.layers), images, labels, options_.projection_dim,
                            options_.seed, label);
}

nlohmann::json TracIn::options() const { return options_json(options_); }

void TracIn::fit(Network& network, const Dataset& train) {
  features_.clear(), gradients_.clear(), sketches_.clear();
  const size_t count = checkpoints_.count();
  if (sketched()) {
    self_ = torch::zeros({train.size()}, torch::kFloat32);
    for (size_t t = 0; t < count; ++t) {
      auto sketched = sketch(checkpoints_.at(t, network), train.images, train.labels,
                             "sketched gradients, checkpoint " + std::to_string(t + 1));
      sketches_.push_back(sketched.gradients);
      self_ += rate(t) * sketched.squared_norms;
    }
    return;
  }
  if (!options_.layers.empty()) {
    train_images_ = train.images.clone(), train_labels_ = train.labels.clone();
    self_ = torch::zeros({train.size()}, torch::kFloat32);
    for (size_t t = 0; t < count; ++t) {
      auto& net = checkpoints_.at(t, network);
      const auto parameters = layer_parameter_tensors(net, options_.layers);
      Progress progress("per-example gradients, checkpoint " + std::to_string(t + 1), train.size());
      for (int64_t s = 0; s < train.size(); s += 256) {
        const int64_t c = std::min<int64_t>(256, train.size() - s);
        self_.narrow(0, s, c) += rate(t) * per_example_gradients(net, parameters, train.images.narrow(0, s, c),
                                                                  train.labels.narrow(0, s, c)).pow(2).sum(1);
        progress.advance(c);
      }
      progress.finish();
    }
    return;
  }
  for (size_t t = 0; t < count; ++t) {
    auto& net = checkpoints_.at(t, network);
    const auto layer = last_linear_layer(net);
    bias_ = layer.bias.defined();
    const auto phi = penultimate_features(net, layer, train.images,
                                          "features of " + train.name + " at checkpoint " + std::to_string(t + 1));
    features_.push_back(phi);
    gradients_.push_back(logit_gradients(last_layer_logits(layer, phi), train.labels).to(torch::kFloat32));
  }
}

torch::Tensor TracIn::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  require(!features_.empty() || train_labels_.defined() || !sketches_.empty(), "TracIn is not fitted");
  auto total = torch::zeros({inputs.size(0), train_size()}, torch::kFloat32);
  if (sketched()) {
    for (size_t t = 0; t < sketches_.size(); ++t)
      total += rate(t) * sketch(checkpoints_.at(t, network), inputs, targets).gradients.matmul(sketches_[t].t());
    return total;
  }
  if (!options_.layers.empty()) {
    for (size_t t = 0; t < checkpoints_.count(); ++t) {
      auto& net = checkpoints_.at(t, network);
      const auto parameters = layer_parameter_tensors(net, options_.layers);
      const auto test = per_example_gradients(net, parameters, inputs, targets);
      for (int64_t s = 0; s < train_size(); s += 256) {
        const int64_t c = std::min<int64_t>(256, train_size() - s);
        total.narrow(1, s, c) += rate(t) * test.matmul(per_example_gradients(net, parameters, train_images_.narrow(0, s, c),
                                                                              train_labels_.narrow(0, s, c)).t());
      }
    }
    return total;
  }
  for (size_t t = 0; t < features_.size(); ++t) {
    auto& net = checkpoints_.at(t, network);
    const auto layer = last_linear_layer(net);
    const auto phi = penultimate_features(net, layer, inputs);
    const auto g = logit_gradients(last_layer_logits(layer, phi), targets).to(torch::kFloat32);
    auto kernel = phi.matmul(features_[t].t());
    if (bias_) kernel += 1;
    total += rate(t) * kernel * g.matmul(gradients_[t].t());
  }
  return total;
}

torch::Tensor TracIn::self_influence() const {
  if (sketched() || !options_.layers.empty()) return self_;
  auto total = torch::zeros({train_size()}, torch::kFloat32);
  for (size_t t = 0; t < features_.size(); ++t)
    total += rate(t) * (features_[t].pow(2).sum(1) + (bias_ ? 1 : 0)) * gradients_[t].pow(2).sum(1);
  return total;
}

std::map<std::string, torch::Tensor> TracIn::state() const {
  if (sketched()) {
    std::map<std::string, torch::Tensor> s = {{"self_influence", self_}};
    for (size_t t = 0; t < sketches_.size(); ++t) s["sketch_" + std::to_string(t)] = sketches_[t];
    return s;
  }
  if (!options_.layers.empty())
    return {{"train_images", train_images_}, {"train_labels", train_labels_}, {"self_influence", self_}};
  std::map<std::string, torch::Tensor> s = {{"bias", torch::tensor({bias_ ? 1 : 0}, torch::kInt64)}};
  for (size_t t = 0; t < features_.size(); ++t) {
    s["features_" + std::to_string(t)] = features_[t];
    s["gradients_" + std::to_string(t)] = gradients_[t];
  }
  return s;
}

void TracIn::set_state(const std::map<std::string, torch::Tensor>& s) {
  if (sketched()) {
    self_ = s.at("self_influence");
    sketches_.clear();
    for (size_t t = 0; t < checkpoints_.count(); ++t) {
      sketches_.push_back(s.at("sketch_" + std::to_string(t)));
      require(sketches_[t].dim() == 2 && sketches_[t].size(1) == options_.projection_dim &&
                  sketches_[t].size(0) == self_.size(0),
              "the TracIn fit's arrays do not fit together; re-run the fit");
    }
    return;
  }
  if (!options_.layers.empty()) {
    train_images_ = s.at("train_images"), train_labels_ = s.at("train_labels"), self_ = s.at("self_influence");
    require(train_images_.dim() >= 2 && train_labels_.size(0) == train_images_.size(0) &&
                self_.size(0) == train_images_.size(0),
            "the TracIn fit's arrays do not fit together; re-run the fit");
    return;
  }
  bias_ = s.at("bias")[0].item<int64_t>() != 0;
  features_.clear(), gradients_.clear();
  const size_t count = checkpoints_.count();
  for (size_t t = 0; t < count; ++t) {
    features_.push_back(s.at("features_" + std::to_string(t)));
    gradients_.push_back(s.at("gradients_" + std::to_string(t)));
    require(features_[t].dim() == 2 && gradients_[t].dim() == 2 && features_[t].size(0) == features_[0].size(0) &&
                gradients_[t].size(0) == features_[0].size(0),
            "the TracIn fit's arrays do not fit together; re-run the fit");
  }
}

}  // namespace prism
