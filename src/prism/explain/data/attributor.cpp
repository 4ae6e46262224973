#include "prism/core/text.h"
#include "prism/explain/data/attributor.h"

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/core/method_registry.h"
#include "prism/explain/data/arnoldi_influence.h"
#include "prism/explain/data/dualview.h"
#include "prism/explain/data/ebe_dnn_attributor.h"
#include "prism/explain/data/gradient_similarity.h"
#include "prism/explain/data/influence.h"
#include "prism/explain/data/random_attributor.h"
#include "prism/explain/data/representer.h"
#include "prism/explain/data/similarity.h"
#include "prism/explain/data/tracin.h"
#include "prism/explain/data/trak.h"
#include "prism/io/npy.h"

namespace prism {
namespace fs = std::filesystem;

namespace {

template <typename Method, typename Options>
MethodEntry<DataAttributor> method(const std::string& name, const std::string& summary) {
  return entry<DataAttributor, Method, Options>(name, summary);
}

const std::vector<MethodEntry<DataAttributor>>& registry() {
  static const std::vector<MethodEntry<DataAttributor>> methods = {
      method<DualView, DualViewOptions>(
          "dualview",
          "the dual variables of a Crammer-Singer SVM surrogate on the penultimate features (Yolcu et al. 2024): "
          "sparse attributions that sum to the surrogate's logit"),
      method<RepresenterPoints, RepresenterOptions>(
          "representer", "representer points (Yeh et al. 2018): the last layer refit, W = sum of alpha_i phi_i"),
      method<TracIn, TracInOptions>(
          "tracin", "TracIn (Pruthi et al. 2020): gradient dot products summed over checkpoints"),
      method<InfluenceFunctions, InfluenceOptions>(
          "influence", "influence functions (Koh and Liang 2017): gradients through the inverse damped Hessian"),
      method<ArnoldiInfluence, ArnoldiOptions>(
          "arnoldi", "Arnoldi influence functions (Schioppa et al. 2022): gradients through the inverse of the "
                     "Hessian's top eigenpairs, over every parameter"),
      method<Trak, TrakOptions>("trak",
                                "TRAK (Park et al. 2023): randomly projected gradients in a kernel regression"),
      method<FeatureSimilarity, SimilarityOptions>("similarity",
                                                   "the similarity of the penultimate features (the baseline)"),
      method<GradientSimilarity, GradientSimilarityOptions>(
          "gradient-similarity",
          "gradient similarity (Charpiat et al. 2019; quanda's GradDot/GradCos): the cosine or dot product of the "
          "loss gradients over every parameter, count-sketched"),
      method<EbeDnnAttributor, EbeDnnAttributorOptions>(
          "ebe-dnn",
          "EBE-DNN (Dong et al. 2025): the kNN vote on a layer's embedding; each training example's weight for the "
          "target's class, summing to the vote's probability of it"),
      method<RandomAttributor, RandomAttributorOptions>("random", "the control: seeded standard normal scores"),
  };
  return methods;
}

}  // namespace

std::vector<std::string> data_methods() {
  std::vector<std::string> names;
  for (const auto& m : registry()) names.push_back(m.doc.name);
  return names;
}

std::vector<MethodDoc> data_method_docs() { return registry_docs(registry()); }

std::unique_ptr<DataAttributor> make_data_attributor(const std::string& name, const nlohmann::json& options) {
  if (auto made = make_registered(registry(), name, options)) return made;
  throw Error("unknown data-attribution method '" + name + "'; methods are: " + join(data_methods()));
}

TopAttributions top_attributions(const torch::Tensor& attributions, int64_t k, bool largest) {
  require(attributions.dim() == 2, "attributions must be [B, N]");
  k = std::min<int64_t>(k, attributions.size(1));
  auto [values, indices] = attributions.topk(k, 1, largest);
  return {indices, values};
}

void save_data_fit(const fs::path& dir, const DataAttributor& attributor, const Provenance& provenance) {
  const FitFolderWriter writer(dir);
  nlohmann::json arrays = nlohmann::json::object();
  for (const auto& [name, tensor] : attributor.state()) {
    write_npy(dir / (name + ".npy"), tensor);
    arrays[name] = tensor.sizes().vec();
  }
  writer.finish({{"method", attributor.name()},
                 {"options", attributor.options()},
                 {"train_size", attributor.train_size()},
                 {"arrays", arrays},
                 {"report", attributor.fit_report()},
                 {"provenance", provenance.to_json()}},
                "data-attribution");
}

DataFit open_data_fit(const fs::path& dir) {
  const auto record_path = dir / "fit.json";
  DataFit fit;
  fit.record = read_fit_record(dir, "data-attribution", "prism influence fit");
  try {
    fit.attributor = make_data_attributor(fit.record.at("method").get<std::string>(), fit.record.at("options"));
    std::map<std::string, torch::Tensor> state;
    for (const auto& item : fit.record.at("arrays").items()) {
      require(item.key().find_first_of("/\\.") == std::string::npos, record_path.string() + " names a bad array '" +
                                                                         item.key() + "'; re-run the fit");
      auto tensor = read_npy(dir / (item.key() + ".npy"));
      require(tensor.sizes().vec() == item.value().get<std::vector<int64_t>>(),
              (dir / (item.key() + ".npy")).string() + " does not have the shape fit.json records; re-run the fit");
      state[item.key()] = tensor;
    }
    fit.attributor->set_state(state);
    require(fit.attributor->train_size() == fit.record.at("train_size").get<int64_t>(),
            record_path.string() + " and its arrays disagree on the training-set size; re-run the fit");
  } catch (const nlohmann::json::exception& e) {
    throw Error(record_path.string() + " is corrupt (" + e.what() + "); re-run prism influence fit");
  } catch (const std::out_of_range&) {
    throw Error(dir.string() + " lacks an array the " + fit.record.value("method", std::string("fit")) +
                " method needs; re-run prism influence fit");
  }
  return fit;
}

}  // namespace prism
