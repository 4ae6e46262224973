#include "prism/core/text.h"
#include "prism/evaluate/data/data_attribution_evaluation.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/core/progress.h"
#include "prism/core/ranks.h"
#include "prism/evaluate/metrics.h"
#include "prism/explain/data/attributor.h"
#include "prism/explain/data/checkpoint_set.h"
#include "prism/model/model_file.h"
#include "prism/model/predict.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class Experiment {
 public:
  explicit Experiment(const DataEvaluationOptions& o) : o_(o) {}

  // The model trained on `data` under cache/models/NAME (resumed or reused), loaded from its file.
  std::pair<std::unique_ptr<Network>, fs::path> model(const std::string& name, const Dataset& data) {
    const fs::path dir = o_.cache / "models" / name;
    ZooOptions architecture = o_.architecture;
    architecture.seed = o_.training.seed;
    auto network = make_zoo_network(architecture, data);
    TrainOptions training = o_.training;
    training.out = dir;
    if (!is_quiet())
      std::fprintf(stderr, "model '%s' on %s (%lld samples)\n", name.c_str(), data.name.c_str(),
                 static_cast<long long>(data.size()));
    train_network(*network, data, nullptr, training);
    return {load_network(dir / "model.prism"), dir / "model.prism"};
  }

  // The model trained on `name` by an earlier call of model(), loaded from its file.
  std::pair<std::unique_ptr<Network>, fs::path> trained(const std::string& name) const {
    const fs::path path = o_.cache / "models" / name / "model.prism";
    return {load_network(path), path};
  }

  // An untrained copy of the architecture (the model-randomisation test's model), saved for its fits.
  std::pair<std::unique_ptr<Network>, fs::path> untrained(const Dataset& data) {
    const fs::path path = o_.cache / "models" / "randomized" / "model.prism";
    if (!fs::exists(path)) {
      ZooOptions architecture = o_.architecture;
      architecture.seed = o_.training.seed + 7919;
      auto network = make_zoo_network(architecture, data);
      make_directory(path.parent_path());
      save_network(*network, path);
    }
    return {load_network(path), path};
  }

  // The method fitted on (network, data), from cache/fits/MODEL/METHOD while its model file is unchanged.
  std::unique_ptr<DataAttributor> fit(const std::string& model_name, Network& network, const fs::path& model_path,
                                      const Dataset& data, const std::string& method) {
    const auto options = with_checkpoints(method, o_.method_options.value(method, nlohmann::json::object()), model_path);
    const fs::path dir = o_.cache / "fits" / model_name / method;
    // The model trained in the cache on `data` (a transformed copy of the training set, named by its
    // transformation): its name and size say which.
    const auto provenance = Provenance::of_model_file(model_path, data.name, data.size(), 0);
    if (fs::exists(dir / "fit.json")) {
      try {
        auto cached = open_data_fit(dir);
        if (Provenance::from_json(cached.record.at("provenance")) == provenance &&
            cached.record.at("options") == make_data_attributor(method, options)->options())
          return std::move(cached.attributor);
      } catch (const Error&) {
      }  // damaged or stale: fit again
    }
    auto attributor = make_data_attributor(method, options);
    if (!is_quiet()) std::fprintf(stderr, "fitting %s on model '%s'\n", method.c_str(), model_name.c_str());
    const auto start = std::chrono::steady_clock::now();
    attributor->fit(network, data);
    const double seconds = seconds_since(start);
    save_data_fit(dir, *attributor, provenance);
    write_file_atomic(o_.cache / "fits" / model_name / (method + "-seconds.json"),
                      nlohmann::json{{"fit_seconds", seconds}}.dump());
    return attributor;
  }

  double fit_seconds(const std::string& model_name, const std::string& method) const {
    try {
      const auto bytes = read_file(o_.cache / "fits" / model_name / (method + "-seconds.json"), 1 << 16);
      return nlohmann::json::parse(bytes.begin(), bytes.end()).at("fit_seconds").get<double>();
    } catch (const std::exception&) {
      return std::nan("");
    }
  }

  double cache_mib(const std::string& model_name, const std::string& method) const {
    std::uintmax_t bytes = 0;
    for (const auto& entry : fs::directory_iterator(o_.cache / "fits" / model_name / method))
      bytes += entry.is_regular_file() ? entry.file_size() : 0;
    return bytes / 1048576.0;
  }

 private:
  const DataEvaluationOptions& o_;
};

torch::Tensor predictions_of(Network& network, const torch::Tensor& images) {
  return predict_logits(network, images).argmax(1);
}

// The images the model assigns to `target` (quanda's filter_by_prediction): the test points of the shortcut and
// mixed-datasets metrics. An error naming `metric` and the fix `remedy` when there is none.
torch::Tensor assigned_to(Network& network, const torch::Tensor& images, int64_t target, const std::string& metric,
                          const std::string& remedy) {
  const auto chosen = (predictions_of(network, images) == target).nonzero().squeeze(1);
  require(chosen.numel() >= 1, metric + ": none of the " + std::to_string(images.size(0)) +
                                   " test images is predicted as class " + std::to_string(target) + "; " + remedy);
  return images.index_select(0, chosen);
}

bool wanted(const DataEvaluationOptions& o, const std::string& metric) {
  return std::find(o.metrics.begin(), o.metrics.end(), metric) != o.metrics.end();
}

// The metrics on the plain model: identical class, sparsity, top-k cardinality, model randomisation, LDS.
bool plain_needed(const DataEvaluationOptions& o) {
  for (const char* metric : {"identical-class", "sparsity", "topk-cardinality", "model-randomization", "lds"})
    if (wanted(o, metric)) return true;
  return false;
}

// The metrics with a model of their own, and its name in the cache.
const std::vector<std::pair<std::string, std::string>> kMetricModels = {
    {"identical-subclass", "grouped"}, {"mislabel", "flipped"}, {"shortcut", "marked"}, {"mixed-datasets", "mixed"}};

// LDS's random halves of the training set, [subsets, size / 2], each sorted.
torch::Tensor lds_halves(int64_t train_size, const DataEvaluationOptions& o) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.training.seed + 104729);
  std::vector<torch::Tensor> halves;
  for (int64_t s = 0; s < o.lds_subsets; ++s)
    halves.push_back(
        std::get<0>(torch::randperm(train_size, generator, torch::kInt64).narrow(0, 0, train_size / 2).sort()));
  return torch::stack(halves);
}

// The training set of the model named `name` in the cache (plain, lds-S, grouped, flipped, marked, mixed).
Dataset training_set(const std::string& name, const Dataset& train, const DataEvaluationOptions& o) {
  if (name == "plain") return train;
  if (name == "grouped") return group_classes(train, o.grouping.group_of_class, o.grouping.group_names);
  if (name == "flipped") return flip_labels(train, o.flip_fraction, o.training.seed);
  if (name == "marked") return mark_class(train, o.mark);
  if (name == "mixed") return mix_in_negatives(train, o.mix);
  require(name.rfind("lds-", 0) == 0, "internal: no model '" + name + "' in the data-attribution evaluation");
  return train.select(lds_halves(train.size(), o)[std::stoll(name.substr(4))]);
}

}  // namespace

std::vector<std::string> data_metric_names() {
  std::vector<std::string> names;
  for (const auto& metric : protocol_metrics("data attribution")) names.push_back(metric.name);
  return names;
}

namespace {

// The options with their defaults filled in for the data (methods, metrics, grouping), checked.
DataEvaluationOptions resolved(const Dataset& train, const Dataset& test, const DataEvaluationOptions& given) {
  DataEvaluationOptions o = given;
  o.mark.seed = o.mix.seed = o.training.seed;
  if (o.methods.empty()) o.methods = data_methods();
  if (o.metrics.empty()) {
    // Every metric that applies to the data: the shortcut stamps an image mark, and identical-subclass needs a
    // grouping of the classes (prism knows Fashion-MNIST's).
    const bool grouped = !o.grouping.group_of_class.empty() ||
                         (train.num_classes() == 10 && train.class_names.front() == "T-shirt/top");
    for (const auto& metric : data_metric_names())
      if ((metric != "shortcut" || train.is_image()) && (metric != "identical-subclass" || grouped))
        o.metrics.push_back(metric);
  }
  require(!o.cache.empty(), "the data-attribution evaluation needs a cache folder");
  const auto known = data_metric_names();
  for (const auto& metric : o.metrics)
    require(std::find(known.begin(), known.end(), metric) != known.end(),
            "unknown metric '" + metric + "'; metrics are: " + join(known));
  for (const auto& method : o.methods)
    make_data_attributor(method, o.method_options.value(method, nlohmann::json::object()));  // validates
  for (const auto& item : o.method_options.items())
    require(std::find(o.methods.begin(), o.methods.end(), item.key()) != o.methods.end(),
            "method options name '" + item.key() + "', which is not among the methods");
  const auto wants = [&](const std::string& metric) { return wanted(o, metric); };
  require(train.sample_shape() == test.sample_shape(), "the training and test samples differ in shape");
  require(test.size() >= 2, "the evaluation needs at least 2 test points (got " + std::to_string(test.size()) + ")");
  if (wants("identical-subclass") && o.grouping.group_of_class.empty()) {
    require(train.num_classes() == 10 && train.class_names.front() == "T-shirt/top",
            "identical-subclass needs a grouping of the classes; prism knows Fashion-MNIST's, give one for this data");
    o.grouping = fashion_mnist_grouping();
  }
  require(!wants("shortcut") || train.is_image(),
          "shortcut stamps a mark on images, and " + train.name + " holds table rows; leave it out of the metrics");
  if (wants("lds")) require(o.lds_subsets >= 3, "lds needs at least 3 subsets (got " + std::to_string(o.lds_subsets) + ")");
  if (wants("mislabel")) require(o.flip_fraction > 0 && o.flip_fraction < 1, "the flipped share must lie in (0, 1)");
  require(o.topk >= 1 && o.topk <= train.size(), "top-k needs 1 ≤ k ≤ the training samples");

  return o;
}

// The models the wanted metrics train, by their names in the cache, and those each method is fitted on.
std::vector<std::string> trained_models(const DataEvaluationOptions& o) {
  std::vector<std::string> names;
  if (plain_needed(o)) names.push_back("plain");
  if (wanted(o, "model-randomization")) names.push_back("randomized");  // untrained: saved, not trained
  if (wanted(o, "lds"))
    for (int64_t s = 0; s < o.lds_subsets; ++s) names.push_back("lds-" + std::to_string(s));
  for (const auto& [metric, name] : kMetricModels)
    if (wanted(o, metric)) names.push_back(name);
  return names;
}

std::vector<std::string> fitted_models(const DataEvaluationOptions& o) {
  auto names = trained_models(o);
  names.erase(std::remove_if(names.begin(), names.end(), [](const std::string& n) { return n.rfind("lds-", 0) == 0; }),
              names.end());  // LDS reads the halves' outputs, no method is fitted on them
  return names;
}

}  // namespace

void prepare_data_evaluation(const Dataset& train, const Dataset& test, const DataEvaluationOptions& given) {
  const auto o = resolved(train, test, given);
  Experiment experiment(o);
  const auto models = trained_models(o);
  ranks::deal_out(static_cast<int64_t>(models.size()), [&](int64_t i) {
    if (models[i] == "randomized")
      experiment.untrained(train);
    else
      experiment.model(models[i], training_set(models[i], train, o));
  });
  std::vector<std::pair<std::string, std::string>> fits;  // (model, method)
  for (const auto& model : fitted_models(o))
    for (const auto& method : o.methods) fits.emplace_back(model, method);
  ranks::deal_out(static_cast<int64_t>(fits.size()), [&](int64_t i) {
    const auto& [model, method] = fits[i];
    auto [network, path] = model == "randomized" ? experiment.untrained(train) : experiment.trained(model);
    experiment.fit(model, *network, path, model == "randomized" ? train : training_set(model, train, o), method);
  });
}

DataEvaluationResult evaluate_data_attribution(const Dataset& train, const Dataset& test,
                                               const DataEvaluationOptions& given) {
  const auto o = resolved(train, test, given);
  const auto wants = [&](const std::string& metric) { return wanted(o, metric); };

  DataEvaluationResult result;
  result.options = o;
  result.methods = o.methods;
  result.metrics = o.metrics;
  Experiment experiment(o);
  const auto record = [&](const std::string& metric, const std::string& method, double value) {
    result.values[metric][method] = value;
  };

  if (plain_needed(o)) {
    auto [network, path] = experiment.model("plain", train);
    const auto targets = predictions_of(*network, test.images);
    std::unique_ptr<Network> random_network;
    fs::path random_path;
    if (wants("model-randomization")) std::tie(random_network, random_path) = experiment.untrained(train);
    torch::Tensor subsets, outputs;
    if (wants("lds")) {
      const auto halves = lds_halves(train.size(), o);
      subsets = torch::zeros({o.lds_subsets, train.size()}, torch::kBool);
      outputs = torch::empty({o.lds_subsets, test.size()});
      for (int64_t s = 0; s < o.lds_subsets; ++s) {
        subsets[s].index_fill_(0, halves[s], true);
        auto [model, model_path] = experiment.model("lds-" + std::to_string(s), train.select(halves[s]));
        outputs[s] = predict_logits(*model, test.images).gather(1, targets.view({-1, 1})).squeeze(1);
      }
      result.notes["lds"] = {{"subsets", o.lds_subsets}, {"subset_size", train.size() / 2},
                             {"output", "logit of the plain model's predicted class"}};
    }
    for (const auto& method : o.methods) {
      auto attributor = experiment.fit("plain", *network, path, train, method);
      const auto start = std::chrono::steady_clock::now();
      const auto attributions = attributor->attribute(*network, test.images, targets).to(torch::kCPU);
      result.explain_seconds[method] = seconds_since(start);
      result.fit_seconds[method] = experiment.fit_seconds("plain", method);
      result.cache_mib[method] = experiment.cache_mib("plain", method);
      if (wants("identical-class")) record("identical-class", method, identical_label(attributions, train.labels, targets));
      if (wants("sparsity")) record("sparsity", method, mean_nonzero(attributions));
      if (wants("topk-cardinality"))
        record("topk-cardinality", method, static_cast<double>(topk_cardinality(attributions, o.topk)));
      if (wants("lds")) record("lds", method, linear_datamodeling_score(attributions, subsets, outputs));
      if (wants("model-randomization")) {
        auto randomized = experiment.fit("randomized", *random_network, random_path, train, method);
        record("model-randomization", method,
               mean_rank_correlation(attributions, randomized->attribute(*random_network, test.images, targets).to(torch::kCPU)));
      }
    }
    result.notes["identical-class"] = {{"labels", "the plain model's predictions"}, {"test_points", test.size()}};
  }

  if (wants("identical-subclass")) {
    const auto grouped_train = training_set("grouped", train, o);
    const auto grouped_test = group_classes(test, o.grouping.group_of_class, o.grouping.group_names);
    auto [network, path] = experiment.model("grouped", grouped_train);
    const auto targets = predictions_of(*network, grouped_test.images);
    for (const auto& method : o.methods) {
      auto attributor = experiment.fit("grouped", *network, path, grouped_train, method);
      record("identical-subclass", method,
             identical_label(attributor->attribute(*network, grouped_test.images, targets), grouped_train.original_labels,
                             grouped_test.original_labels));
    }
    result.notes["identical-subclass"] = {{"groups", o.grouping.group_names}, {"test_points", test.size()}};
  }

  if (wants("mislabel")) {
    const auto flipped = training_set("flipped", train, o);
    auto [network, path] = experiment.model("flipped", flipped);
    for (const auto& method : o.methods) {
      auto attributor = experiment.fit("flipped", *network, path, flipped, method);
      torch::Tensor self;
      try {
        self = attributor->self_influence();
      } catch (const Error& e) {
        throw Error("metric mislabel needs self-influence, which " + method + " cannot give here (" + e.what() +
                    "); leave mislabel out or choose another method");
      }
      const auto curve = mislabel_detection(self, flipped.flipped);
      result.mislabel_curves[method] = curve;
      record("mislabel", method, curve.normalized);
    }
    result.notes["mislabel"] = {{"flipped", flipped.flipped.sum().item<int64_t>()}, {"train_size", train.size()}};
  }

  if (wants("shortcut")) {
    const auto marked = training_set("marked", train, o);
    auto [network, path] = experiment.model("marked", marked);
    // Test images of the other classes, every one marked; those the model now assigns to the marked class.
    const auto others = (test.labels != o.mark.target_class).nonzero().squeeze(1);
    const auto stamped = stamp_mark(test.images.index_select(0, others), o.mark);
    const auto points = assigned_to(*network, stamped, o.mark.target_class, "shortcut",
                                    "the model did not learn the shortcut — mark a larger share or train longer");
    const auto targets = torch::full({points.size(0)}, o.mark.target_class, torch::kInt64);
    for (const auto& method : o.methods) {
      auto attributor = experiment.fit("marked", *network, path, marked, method);
      const auto score = shortcut_detection(attributor->attribute(*network, points, targets), marked.marked);
      record("shortcut", method, score.top1_hit_rate);
      result.notes["shortcut-map-" + method] = score.mean_average_precision;
    }
    result.notes["shortcut"] = {{"marked_class", o.mark.target_class},
                                {"marked_training_samples", marked.marked.sum().item<int64_t>()},
                                {"test_points", points.size(0)},
                                {"of_marked_test_images", others.numel()},
                                {"value", "top-1 hit rate; mean average precision in shortcut-map-METHOD"}};
  }

  if (wants("mixed-datasets")) {
    const auto mixed = training_set("mixed", train, o);
    auto [network, path] = experiment.model("mixed", mixed);
    // The second source's test images (negatives of the source class's test images) the model assigns to its
    // label, as quanda's filter_by_prediction.
    const auto sources = negatives(test.images.index_select(0, (test.labels == o.mix.source_class).nonzero().squeeze(1)));
    const auto points = assigned_to(*network, sources, o.mix.target_class, "mixed-datasets",
                                    "the model did not learn the second source — raise mix_share or train longer");
    const auto targets = torch::full({points.size(0)}, o.mix.target_class, torch::kInt64);
    for (const auto& method : o.methods) {
      auto attributor = experiment.fit("mixed", *network, path, mixed, method);
      record("mixed-datasets", method, mixed_datasets(attributor->attribute(*network, points, targets), mixed.mixed));
    }
    result.notes["mixed-datasets"] = {{"second_source", "negatives of class " + std::to_string(o.mix.source_class)},
                                      {"label", o.mix.target_class},
                                      {"mixed_training_samples", mixed.mixed.sum().item<int64_t>()},
                                      {"test_points", points.size(0)},
                                      {"of_second_source_test_images", sources.size(0)},
                                      {"value", "mean average precision (area under the precision-recall curve)"}};
  }
  return result;
}

nlohmann::json DataEvaluationResult::to_json() const {
  nlohmann::json metrics_json = nlohmann::json::object();
  for (const auto& metric : metrics) {
    const auto found = values.find(metric);
    metrics_json[metric] = {{"better", find_metric("data attribution", metric).better},
                            {"values", found == values.end() ? std::map<std::string, double>{} : found->second}};
    if (notes.count(metric)) metrics_json[metric]["notes"] = notes.at(metric);
  }
  nlohmann::json curves = nlohmann::json::object();
  for (const auto& [method, c] : mislabel_curves)
    curves[method] = {{"inspected", c.inspected}, {"found", c.found}, {"area", c.area},
                      {"random_area", c.random_area}, {"optimal_area", c.optimal_area}, {"normalized", c.normalized}};
  nlohmann::json extra = nlohmann::json::object();
  for (const auto& [key, value] : notes)
    if (key.rfind("shortcut-map-", 0) == 0) extra[key] = value;
  return {{"methods", methods},
          {"metrics", metrics_json},
          {"shortcut_mean_average_precision", extra},
          {"mislabel_curves", curves},
          {"fit_seconds", fit_seconds},
          {"explain_seconds", explain_seconds},
          {"cache_mib", cache_mib},
          {"training", {{"epochs", options.training.epochs}, {"batch_size", options.training.batch_size},
                        {"learning_rate", options.training.learning_rate}, {"seed", options.training.seed}}},
          {"flip_fraction", options.flip_fraction},
          {"topk", options.topk}};
}

std::string DataEvaluationResult::table() const {
  std::ostringstream out;
  out << "| metric |";
  for (const auto& m : methods) out << ' ' << m << " |";
  out << "\n|---|";
  for (size_t i = 0; i < methods.size(); ++i) out << "---|";
  out << '\n';
  char cell[48];
  const auto row = [&](const std::string& label, const std::function<double(const std::string&)>& value,
                       const char* format) {
    out << "| " << label << " |";
    for (const auto& m : methods) {
      const double v = value(m);
      if (std::isnan(v)) {
        out << " – |";
      } else {
        std::snprintf(cell, sizeof cell, format, v);
        out << ' ' << cell << " |";
      }
    }
    out << '\n';
  };
  for (const auto& metric : metrics) {
    const auto label = metric + " " + find_metric("data attribution", metric).arrow();
    row(label, [&](const std::string& m) {
          return values.count(metric) && values.at(metric).count(m) ? values.at(metric).at(m) : std::nan("");
        },
        metric == "sparsity" || metric == "topk-cardinality" ? "%.0f" : "%.3f");
  }
  const auto lookup = [](const std::map<std::string, double>& map) {
    return [&map](const std::string& m) { return map.count(m) ? map.at(m) : std::nan(""); };
  };
  if (!fit_seconds.empty()) {
    row("fit (s) ↓", lookup(fit_seconds), "%.2f");
    row("explain test points (s) ↓", lookup(explain_seconds), "%.3f");
    row("cache (MiB) ↓", lookup(cache_mib), "%.1f");
  }
  return out.str();
}

}  // namespace prism
