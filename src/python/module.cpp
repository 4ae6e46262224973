// prism's Python extension `prism._prism`: the library's API over pybind11, in the same process as the user's
// PyTorch. Tensors cross without copies (LibTorch and python3-torch are one library); a ScriptModule's `_c`
// arrives as the torch::jit::Module it wraps. Every call that runs the network releases the GIL. Options travel
// as JSON text from the Python layer (python/prism/__init__.py), which names them as keywords; the library's
// factories validate them with the messages the command line uses.
#include <torch/extension.h>

#include <pybind11/stl.h>

#include <functional>
#include <map>
#include <optional>

#include "prism/prism.h"
#include "prism/report/html_page.h"

namespace py = pybind11;

namespace prism::python {
namespace {

// What a call into prism's engine holds while it runs: the GIL released, and BLAS on one thread as in the CLI
// (--blas-threads; the host's count comes back after): faster on shared cores, and the same bytes as the command line.
struct EngineScope {
  py::gil_scoped_release release;
  SingleThreadedBlas blas;
};
using NativeCall = py::call_guard<EngineScope>;

nlohmann::json parse_options(const std::string& json) { return nlohmann::json::parse(json); }

// A Network shared between Python objects (attributors keep the one they were fitted on alive).
struct PyNetwork {
  std::shared_ptr<Network> network;
};

PyNetwork from_module(torch::jit::Module module, const std::vector<int64_t>& input_shape) {
  return {torch_script_network(std::move(module), input_shape, "the ScriptModule")};
}

PyNetwork from_file(const std::string& path, const std::vector<int64_t>& input_shape) {
  return {load_network(path, input_shape)};
}

py::list layer_list(const PyNetwork& self) {
  py::list out;
  for (const auto& layer : self.network->layers()) {
    py::dict entry;
    entry["name"] = layer.name;
    entry["kind"] = layer.kind;
    entry["cut"] = layer.cut;
    entry["inputs"] = layer.inputs;
    out.append(entry);
  }
  return out;
}

torch::Tensor no_grad_forward(PyNetwork& self, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  self.network->set_training(false);
  return self.network->forward(x);
}

torch::Tensor no_grad_activation(PyNetwork& self, const torch::Tensor& x, const std::string& layer) {
  torch::NoGradGuard no_grad;
  self.network->set_training(false);
  return self.network->activation(x, layer);
}

// One feature attribution and its per-sample diagnostics (axiom errors, the pruned share).
py::tuple feature_attribution(PyNetwork& net, const torch::Tensor& x, const torch::Tensor& targets,
                              const std::string& method, const std::string& options) {
  Attribution attribution;
  {
    EngineScope engine;
    attribution = make_feature_attributor(method, parse_options(options))->explain(*net.network, x, targets);
  }
  return py::make_tuple(attribution.maps.detach(), attribution.per_sample);
}

py::object json_to_python(const nlohmann::json& value) {
  return py::module_::import("json").attr("loads")(value.dump());
}

// Each method's name, summary and options (key, help, default): the text of the Python docstrings.
py::list method_docs(const std::vector<MethodDoc>& docs) {
  py::list out;
  for (const auto& doc : docs) {
    py::list options;
    for (const auto& option : doc.options) {
      py::dict entry;
      entry["key"] = option.key;
      entry["help"] = option.help;
      entry["default"] = json_to_python(option.default_value);
      options.append(entry);
    }
    py::dict entry;
    entry["name"] = doc.name;
    entry["summary"] = doc.summary;
    entry["options"] = options;
    out.append(entry);
  }
  return out;
}

// A data set of images [N, C, H, W], sequences [N, C, T] or table rows [N, F] and labels [N] handed over from Python, normalised with
// `normalization` (the training samples' statistics where no model records them).
Dataset tensor_dataset(const std::string& name, const torch::Tensor& images, const torch::Tensor& labels,
                       std::vector<std::string> class_names, Normalization normalization) {
  require(images.dim() >= 2 && images.dim() <= 4,
          name + " samples must be images [N, C, H, W], sequences [N, C, T] or table rows [N, F] (got " +
              shape_string(images.sizes()) + ")");
  return make_dataset(name, images.to(torch::kFloat32).contiguous(), labels.to(torch::kInt64).contiguous(),
                      std::move(class_names), std::move(normalization));
}

Dataset as_dataset(const PyNetwork& net, const torch::Tensor& images, const torch::Tensor& labels) {
  require(images.dim() >= 2, "the training images must be a batch [N, ...]");
  return make_dataset("python", images.to(torch::kFloat32).contiguous(), labels.to(torch::kInt64).contiguous(),
                      net.network->class_names(), net.network->normalization());
}

struct PyDataAttributor {
  std::unique_ptr<DataAttributor> attributor;
  std::shared_ptr<Network> fitted;
};

struct PyEbeDnn {
  std::shared_ptr<EbeDnn> fit;
  std::shared_ptr<Network> fitted;
};

py::dict example_attribution(const ExampleAttribution& a) {
  py::dict out;
  out["indices"] = a.indices;
  out["weights"] = a.weights;
  out["distances"] = a.distances;
  out["labels"] = a.labels;
  out["predictions"] = a.predictions;
  return out;
}

// What a fit from Python was built from: no files, so fingerprints of the weights and of the training set.
Provenance in_memory(Network& network, const Dataset& train) {
  return {"python", std::to_string(tensors_fingerprint(network.parameters())),
          "python:" + std::to_string(tensors_fingerprint({train.images, train.labels})), train.size(), 0};
}

// A FLINT interpreter and the network f it explains (post hoc: the caller's, frozen; joint: trained with it).
struct PyFlint {
  FlintInterpreter interpreter{nullptr};
  std::shared_ptr<Network> network;
  std::vector<FlintEpochRecord> history;
};

FlintFitOptions flint_settings(const std::string& options, const std::string& folder) {
  auto settings = read_options<FlintFitOptions>(parse_options(options), "FLINT");
  settings.train.out = folder;
  return settings;
}

// Trains an interpreter of `network` into the settings' folder: post hoc (f frozen) or jointly with f.
PyFlint train_interpreter(std::shared_ptr<Network> network, const Dataset& train, FlintFitOptions settings,
                          bool joint) {
  settings.train.train_predictor = joint;
  settings.train.provenance = in_memory(*network, train);
  auto fit = learn_flint(*network, train, nullptr, settings);
  return {fit.interpreter, std::move(network), std::move(fit.history)};
}

PyFlint fit_flint(PyNetwork& net, const torch::Tensor& images, const torch::Tensor& labels,
                  const FlintFitOptions& settings) {
  return train_interpreter(net.network, as_dataset(net, images, labels), settings, false);
}

// FLINT's joint training: a fresh built-in `architecture` learnt together with its interpreter.
PyFlint train_flint_jointly(const torch::Tensor& images, const torch::Tensor& labels,
                            const std::vector<std::string>& class_names, const std::string& architecture,
                            int64_t width, const FlintFitOptions& settings) {
  const auto train = tensor_dataset("the training", images, labels, class_names, {});
  // "": the architecture for the data (the cnn for images, the cnn1d for sequences, the mlp for table rows).
  std::shared_ptr<Network> network =
      make_zoo_network(ZooOptions{architecture, {}, 0, width, settings.train.seed}, train);
  return train_interpreter(network, train, settings, true);
}

// What each attribute stands for over `samples`: the global relevance, its top samples and an
// activation-maximisation image per attribute (Parekh et al. 2021, Sec. 3.3).
py::dict visualise_flint(PyFlint& self, const torch::Tensor& samples, int64_t top, const std::string& options) {
  require(top >= 1, "top must be at least 1");
  AttributeSummary summary;
  {
    EngineScope engine;
    const auto maximisation = read_options<ActivationMaximisationOptions>(parse_options(options),
                                                                          "activation maximisation");
    summary = summarise_attributes(*self.network, self.interpreter, samples, top, maximisation);
  }
  py::dict out;
  out["attributes"] = summary.outputs.attributes;
  out["class_relevance"] = summary.class_relevance;
  out["top_samples"] = summary.top_samples;
  if (summary.maximised.defined()) out["maximised"] = summary.maximised;
  return out;
}

// Φ(x), g's logits, f's logits and the local relevance r_{j,x} of each attribute for f's predicted class.
py::dict interpret_flint(PyFlint& self, const torch::Tensor& x, double tau) {
  require(tau > 1, "tau must be above 1 (relevance above 1/tau is shown)");
  FlintOutputs outputs;
  {
    EngineScope engine;
    outputs = run_flint(*self.network, self.interpreter, x);
  }
  py::dict out;
  out["attributes"] = outputs.attributes;
  out["interpreter_logits"] = outputs.interpreter_logits;
  out["predictor_logits"] = outputs.predictor_logits;
  out["relevance"] = outputs.relevance;
  out["local_interpretation"] = local_interpretation(outputs.relevance, tau);
  return out;
}

// r_{j,c} over `x` (classes as f predicts them) and the class–attribute pairs above 1/τ.
py::dict global_flint(PyFlint& self, const torch::Tensor& x, double tau) {
  require(tau > 1, "tau must be above 1 (relevance above 1/tau is shown)");
  torch::Tensor class_relevance;
  {
    EngineScope engine;
    const auto outputs = run_flint(*self.network, self.interpreter, x);
    class_relevance = global_relevance(outputs.relevance, outputs.predictor_logits.argmax(1), self.network->num_classes());
  }
  py::dict out;
  out["relevance"] = class_relevance;
  out["pairs"] = global_interpretation(class_relevance, tau);
  return out;
}

// Feature attributors by name, each with its options from `options` (method → JSON object).
std::vector<std::unique_ptr<FeatureAttributor>> make_methods(const std::vector<std::string>& methods,
                                                             const nlohmann::json& options) {
  std::vector<std::unique_ptr<FeatureAttributor>> out;
  for (const auto& method : methods)
    out.push_back(make_feature_attributor(method, options.contains(method) ? options.at(method) : nlohmann::json::object()));
  return out;
}

std::vector<FeatureAttributor*> pointers(const std::vector<std::unique_ptr<FeatureAttributor>>& methods) {
  std::vector<FeatureAttributor*> out;
  for (const auto& m : methods) out.push_back(m.get());
  return out;
}

// The protocols' own options arrive as JSON of their options struct's keys (its defaults apply to the rest), so the
// Python wrappers restate no default.
py::dict sanity_check(PyNetwork& net, const torch::Tensor& x, const torch::Tensor& targets,
                      const std::vector<std::string>& methods, const std::string& method_options,
                      const std::string& options) {
  const auto attributors = make_methods(methods, parse_options(method_options));
  const auto sanity = read_options<SanityOptions>(parse_options(options), "sanity_check");
  SanityResult result;
  {
    EngineScope engine;
    result = model_randomization(*net.network, pointers(attributors), x, targets, sanity);
  }
  py::dict out = json_to_python(result.to_json());
  out["maps"] = result.maps;
  return out;
}

py::dict map_measures(PyNetwork& net, const torch::Tensor& x, const torch::Tensor& targets, const std::string& method,
                      const std::string& method_options, const std::optional<torch::Tensor>& maps,
                      const std::string& options) {
  auto attributor = make_feature_attributor(method, parse_options(method_options));
  const auto measure = read_options<MapMeasureOptions>(parse_options(options), "map_measures");
  MapMeasures measured;
  {
    EngineScope engine;
    const auto attributions = maps ? *maps : attributor->attribute(*net.network, x, targets).detach();
    measured = measure_maps(*net.network, *attributor, x, targets, attributions, measure);
  }
  py::dict out;
  for (const auto& metric : protocol_metrics("map measures")) out[metric.name.c_str()] = measured.values(metric.name);
  return out;
}

// TCAV (Kim et al. 2018) of in-memory concept images for the classes `classes` of `x` (labels `y`), or for FLINT's
// attributes where `flint` is given; the options are TcavOptions' keys.
py::dict tcav_scores(PyNetwork& net, const std::vector<std::string>& names, const std::vector<torch::Tensor>& images,
                     const torch::Tensor& random, const torch::Tensor& x, const std::optional<torch::Tensor>& y,
                     const std::vector<int64_t>& classes, const std::string& output, PyFlint* flint,
                     const std::string& options_text) {
  auto options = read_options<TcavOptions>(parse_options(options_text), "tcav");
  require(names.size() == images.size(), "give one image tensor per concept name");
  std::vector<ConceptExamples> concepts;
  for (size_t c = 0; c < names.size(); ++c) concepts.push_back({names[c], images[c]});
  TcavResult r;
  {
    EngineScope engine;
    if (flint) {
      if (options.layer.empty()) options.layer = flint->interpreter->architecture().layers.at(0);
      r = tcav(*net.network, concepts, random,
               flint_attribute_outputs(*net.network, flint->interpreter, x, options.inputs_per_output), options);
    } else {
      require(y.has_value(), "give the labels y of x: TCAV scores each class on its own images");
      r = tcav(*net.network, concepts, random, class_outputs(*net.network, x, *y, classes, options.inputs_per_output, output),
               options);
    }
  }
  py::dict out;
  out["layer"] = r.layer;
  out["concepts"] = r.concepts;
  out["outputs"] = r.outputs;
  out["scores"] = r.scores;
  out["magnitudes"] = r.magnitudes;
  out["null_scores"] = r.null_scores;
  out["cav_accuracy"] = r.cav_accuracy;
  out["null_accuracy"] = r.null_accuracy;
  out["p_values"] = r.p_values;
  out["significant"] = r.p_values < r.alpha;
  out["inputs"] = r.inputs;
  out["cavs"] = r.cavs;
  return out;
}

// ROAR / KAR (Hooker et al. 2019) of `methods`' maps of `net`, retraining the built-in `architecture`
// (the network's own when it is built-in) on the modified images; cached in `cache`.
py::dict roar(PyNetwork& net, const torch::Tensor& train_x, const torch::Tensor& train_y, const torch::Tensor& test_x,
              const torch::Tensor& test_y, const std::vector<std::string>& methods, const std::string& method_options,
              const std::string& architecture, int64_t width, std::optional<uint64_t> seed, const std::string& cache,
              const std::string& options) {
  auto roar_options = read_options<RoarOptions>(parse_options(options), "roar");
  if (seed) roar_options.training.seed = *seed;
  roar_options.cache = cache;
  check_roar_options(roar_options);
  ZooOptions zoo;
  if (architecture.empty()) {
    try {
      zoo = zoo_options(*net.network);
    } catch (const Error&) {
      throw Error("ROAR retrains the model's architecture, which prism can only do for its built-in models; give "
                  "architecture=\"cnn\" (or mlp, resnet18) to retrain that instead");
    }
  } else {
    zoo = {architecture, net.network->input_shape(), net.network->num_classes(), width, roar_options.training.seed};
  }
  const auto attributors = make_methods(methods, parse_options(method_options));
  const auto train = as_dataset(net, train_x, train_y), test = as_dataset(net, test_x, test_y);
  // What the cached maps and retrainings were computed from: the weights that rank and the data.
  roar_options.key = {{"model_fingerprint", std::to_string(tensors_fingerprint(net.network->parameters()))},
                      {"data_fingerprint", std::to_string(tensors_fingerprint({train.images, train.labels, test.images,
                                                                               test.labels}))}};
  RoarResult result;
  {
    EngineScope engine;
    result = run_roar(*net.network, zoo, pointers(attributors), train, test, roar_options);
  }
  py::dict out = json_to_python(result.to_json());
  out["table"] = py::dict();
  for (const auto& mode : result.options.modes) out["table"][py::str(mode)] = result.table(mode);
  return out;
}

// The DualView paper's evaluation of data attribution (Yolcu et al. 2024, §5) on tensors: trains the models
// each metric needs (cached in `cache`), fits every method and scores them.
py::dict evaluate_data(const torch::Tensor& train_x, const torch::Tensor& train_y, const torch::Tensor& test_x,
                       const torch::Tensor& test_y, const std::vector<std::string>& class_names,
                       const std::vector<int64_t>& group_of_class, const std::vector<std::string>& group_names,
                       const std::vector<std::string>& methods, const std::vector<std::string>& metrics,
                       const std::string& method_options, const std::string& architecture, int64_t width,
                       const std::string& cache, const std::string& options_text) {
  const auto train = tensor_dataset("the training", train_x, train_y, class_names, {});
  const auto test = tensor_dataset("the test", test_x, test_y, train.class_names, train.normalization);
  auto options = read_options<DataEvaluationOptions>(parse_options(options_text), "evaluate_data_attribution");
  options.methods = methods;
  options.metrics = metrics;
  options.method_options = parse_options(method_options);
  options.architecture.architecture = architecture;  // "": the one for the data (zoo.h)
  options.architecture.width = width;
  options.grouping = {group_of_class, group_names};
  options.cache = cache;
  DataEvaluationResult result;
  {
    EngineScope engine;
    result = evaluate_data_attribution(train, test, options);
  }
  py::dict out = json_to_python(result.to_json());
  out["table"] = result.table();
  return out;
}

// A self-contained HTML report assembled from Python: headings, text, pictures, tables, SVG plots.
void add_report_page(py::module_& m) {
  py::class_<HtmlPage>(m, "HtmlPage")
      .def(py::init<std::string>(), py::arg("title"))
      .def("heading", &HtmlPage::heading, py::arg("level"), py::arg("text"))
      .def("paragraph", &HtmlPage::paragraph, py::arg("text"))
      .def("facts", &HtmlPage::facts, py::arg("rows"))
      .def("picture", &HtmlPage::picture, py::arg("image"), py::arg("caption"), py::arg("width"))
      .def("begin_gallery", &HtmlPage::begin_gallery)
      .def("end_gallery", &HtmlPage::end_gallery)
      .def("table", &HtmlPage::table, py::arg("header"), py::arg("rows"))
      .def("markdown", &HtmlPage::markdown, py::arg("text"))
      .def("svg", &HtmlPage::svg, py::arg("svg"))
      .def("begin_section", &HtmlPage::begin_section, py::arg("id"))
      .def("end_section", &HtmlPage::end_section)
      .def("html", &HtmlPage::html);
  m.def("heatmap_picture", &heatmap_picture, py::arg("map"), py::arg("scale"), py::arg("title"));
  m.def("overlay_picture", &overlay_picture, py::arg("image"), py::arg("map"), py::arg("scale"), py::arg("title"));
  m.def("image_picture", &image_picture, py::arg("image"), py::arg("scale"), py::arg("title"));
  m.def("write_text_atomic", [](const std::string& path, const std::string& text) { write_file_atomic(path, text); },
        py::arg("path"), py::arg("text"));
}

}  // namespace

PYBIND11_MODULE(_prism, m) {
  m.doc() = "prism's native engine; use the `prism` package, which wraps it";
  static py::exception<Error> error_class(m, "Error", PyExc_RuntimeError);
  // prism's errors keep their one line; LibTorch's lose their backtrace.
  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const Error& e) {
      error_class(e.what());
    } catch (const c10::Error& e) {
      error_class(first_line(e).c_str());
    }
  });
  set_quiet(true);
  route_libtorch_warnings();
  // As the CLI does: without it every batch's activations are page-faulted in afresh (prism's IG ran at a third
  // of its CLI speed from Python). It applies to the whole Python process: freed memory up to 1 GiB stays in it.
  keep_freed_memory();

  py::class_<PyNetwork>(m, "Network")
      .def_static("from_module", &from_module, py::arg("module"), py::arg("input_shape"))
      .def_static("from_file", &from_file, py::arg("path"), py::arg("input_shape"))
      .def("layers", &layer_list)
      .def_property_readonly("input_shape", [](const PyNetwork& n) { return n.network->input_shape(); })
      .def_property_readonly("num_classes", [](const PyNetwork& n) { return n.network->num_classes(); })
      .def("penultimate_layer", [](const PyNetwork& n) { return penultimate_layer(*n.network); })
      .def("forward", &no_grad_forward, py::arg("x"), NativeCall())
      .def("activation", &no_grad_activation, py::arg("x"), py::arg("layer"), NativeCall());

  // Returns its argument: the tests check that tensors cross the binding without copies.
  m.def("identity", [](const torch::Tensor& x) { return x; });
  m.def("feature_methods", &feature_methods);
  m.def("precision", [] { return precision_name(current_precision()); });
  m.def("set_precision", [](const std::string& name) { set_current_precision(parse_precision(name)); });
  m.def("feature_method_docs", [] { return method_docs(feature_method_docs()); });
  m.def("data_method_docs", [] { return method_docs(data_method_docs()); });
  m.def("data_methods", &data_methods);
  m.def("feature_attribution", &feature_attribution, py::arg("network"), py::arg("x"), py::arg("targets"),
        py::arg("method"), py::arg("options"));

  py::class_<PyDataAttributor>(m, "DataAttributor")
      .def(py::init([](const std::string& method, const std::string& options) {
             return PyDataAttributor{make_data_attributor(method, parse_options(options)), nullptr};
           }),
           py::arg("method"), py::arg("options"))
      .def("fit",
           [](PyDataAttributor& self, PyNetwork& net, const torch::Tensor& images, const torch::Tensor& labels) {
             const auto train = as_dataset(net, images, labels);
             self.attributor->fit(*net.network, train);
             self.fitted = net.network;
           },
           py::arg("network"), py::arg("images"), py::arg("labels"), NativeCall())
      .def("attribute",
           [](PyDataAttributor& self, const torch::Tensor& x, const torch::Tensor& targets) {
             require(self.fitted != nullptr, "fit the data attributor before attributing");
             return self.attributor->attribute(*self.fitted, x, targets).detach();
           },
           py::arg("x"), py::arg("targets"), NativeCall())
      .def("self_influence", [](PyDataAttributor& self) { return self.attributor->self_influence(); }, NativeCall())
      .def("fit_report", [](PyDataAttributor& self) { return json_to_python(self.attributor->fit_report()); })
      .def("options", [](PyDataAttributor& self) { return json_to_python(self.attributor->options()); })
      .def_property_readonly("name", [](const PyDataAttributor& self) { return self.attributor->name(); });

  py::class_<PyEbeDnn>(m, "EbeDnn")
      .def_static(
          "fit",
          [](PyNetwork& net, const torch::Tensor& images, const torch::Tensor& labels, const std::string& options_text,
             const std::string& folder) {
            auto options = read_options<EbeDnn::FitOptions>(parse_options(options_text), "EbeDnn");
            if (options.embedding.layer.empty()) options.embedding.layer = penultimate_layer(*net.network);
            const auto train = as_dataset(net, images, labels);
            auto fitted = std::make_shared<EbeDnn>(
                EbeDnn::fit(*net.network, train, options, folder, in_memory(*net.network, train)));
            return PyEbeDnn{fitted, net.network};
          },
          py::arg("network"), py::arg("images"), py::arg("labels"), py::arg("options"), py::arg("folder"), NativeCall())
      .def(
          "explain",
          [](PyEbeDnn& self, const torch::Tensor& x, const std::string& options_text) {
            const auto options = read_options<EbeOptions>(parse_options(options_text), "EbeDnn.explain");
            check_ebe_options(options);
            ExampleAttribution result;
            {
              EngineScope engine;
              result = self.fit->explain(*self.fitted, x, options);
            }
            return example_attribution(result);
          },
          py::arg("x"), py::arg("options"))
      .def_property_readonly("layer", [](const PyEbeDnn& self) { return self.fit->embedding_options().layer; });

  py::class_<PyFlint>(m, "Flint")
      .def_static(
          "fit",
          [](PyNetwork& net, const torch::Tensor& images, const torch::Tensor& labels, const std::string& options,
             const std::string& folder) { return fit_flint(net, images, labels, flint_settings(options, folder)); },
          py::arg("network"), py::arg("images"), py::arg("labels"), py::arg("options"), py::arg("folder"), NativeCall())
      .def_static(
          "train",
          [](const torch::Tensor& images, const torch::Tensor& labels, const std::vector<std::string>& class_names,
             const std::string& architecture, int64_t width, const std::string& options, const std::string& folder) {
            return train_flint_jointly(images, labels, class_names, architecture, width, flint_settings(options, folder));
          },
          py::arg("images"), py::arg("labels"), py::arg("class_names"), py::arg("architecture"), py::arg("width"),
          py::arg("options"), py::arg("folder"), NativeCall())
      .def("interpret", &interpret_flint, py::arg("x"), py::arg("tau"))
      .def("global_interpretation", &global_flint, py::arg("x"), py::arg("tau"))
      .def("visualise", &visualise_flint, py::arg("samples"), py::arg("top"), py::arg("options"))
      .def("history", [](const PyFlint& self) {
        nlohmann::json epochs = nlohmann::json::array();
        for (const auto& record : self.history) epochs.push_back(record.to_json());
        return json_to_python(epochs);
      })
      .def("network", [](const PyFlint& self) { return PyNetwork{self.network}; })
      .def("head_weight", [](const PyFlint& self) { return self.interpreter->head_weight().detach(); });

  // The data-attribution metrics (Yolcu et al. 2024, §5) on attributions the caller computed.
  py::module_ metrics = m.def_submodule("data_metrics", "metrics of data attributions");
  metrics.def("identical_label", &identical_label, py::arg("attributions"), py::arg("train_labels"),
              py::arg("test_labels"));
  metrics.def(
      "mislabel_detection",
      [](const torch::Tensor& self_influence, const torch::Tensor& flipped) {
        const auto curve = mislabel_detection(self_influence, flipped);
        py::dict out;
        out["inspected"] = curve.inspected;
        out["found"] = curve.found;
        out["area"] = curve.area;
        out["random_area"] = curve.random_area;
        out["optimal_area"] = curve.optimal_area;
        out["normalized"] = curve.normalized;
        return out;
      },
      py::arg("self_influence"), py::arg("flipped"));
  metrics.def(
      "shortcut_detection",
      [](const torch::Tensor& attributions, const torch::Tensor& marked) {
        const auto score = shortcut_detection(attributions, marked);
        py::dict out;
        out["top1_hit_rate"] = score.top1_hit_rate;
        out["mean_average_precision"] = score.mean_average_precision;
        return out;
      },
      py::arg("attributions"), py::arg("marked"));
  metrics.def("mixed_datasets", &mixed_datasets, py::arg("attributions"), py::arg("mixed"));
  metrics.def("sparsity", &mean_nonzero, py::arg("attributions"));
  metrics.def("topk_cardinality", &topk_cardinality, py::arg("attributions"), py::arg("k"));
  metrics.def("model_randomization", &mean_rank_correlation, py::arg("trained"), py::arg("randomized"));
  metrics.def("linear_datamodeling_score", &linear_datamodeling_score, py::arg("attributions"), py::arg("subsets"),
              py::arg("outputs"));

  m.def("tcav", &tcav_scores, py::arg("network"), py::arg("names"), py::arg("images"), py::arg("random"), py::arg("x"),
        py::arg("y"), py::arg("classes"), py::arg("output"), py::arg("flint"), py::arg("options"));
  m.def("roar", &roar, py::arg("network"), py::arg("train_x"), py::arg("train_y"), py::arg("test_x"),
        py::arg("test_y"), py::arg("methods"), py::arg("method_options"), py::arg("architecture"), py::arg("width"),
        py::arg("seed"), py::arg("cache"), py::arg("options"));
  m.def("evaluate_data_attribution", &evaluate_data, py::arg("train_x"), py::arg("train_y"), py::arg("test_x"),
        py::arg("test_y"), py::arg("class_names"), py::arg("group_of_class"), py::arg("group_names"),
        py::arg("methods"), py::arg("metrics"), py::arg("method_options"), py::arg("architecture"),
        py::arg("width"), py::arg("cache"), py::arg("options"));
  add_report_page(m);
  m.def("sanity_check", &sanity_check, py::arg("network"), py::arg("x"), py::arg("targets"), py::arg("methods"),
        py::arg("method_options"), py::arg("options"));
  // The protocols' options (key, help, default) for the Python docstrings.
  m.def("protocol_option_docs", [](const std::string& protocol) {
    const std::map<std::string, std::function<std::vector<OptionDoc>()>> protocols = {
        {"sanity_check", describe_options<SanityOptions>},
        {"perturbation", describe_options<PerturbationOptions>},
        {"map_measures", describe_options<MapMeasureOptions>},
        {"roar", describe_options<RoarOptions>},
        {"evaluate_data_attribution", describe_options<DataEvaluationOptions>},
        {"EbeDnn", describe_options<EbeDnn::FitOptions>},
        {"EbeDnn.explain", describe_options<EbeOptions>},
        {"Flint", describe_options<FlintFitOptions>}};
    py::list out;
    for (const auto& doc : protocols.at(protocol)())
      out.append(py::make_tuple(doc.key, doc.help, json_to_python(doc.default_value)));
    return out;
  }, py::arg("protocol"));
  m.def(
      "localisation",
      [](const torch::Tensor& maps, const torch::Tensor& regions) {
        const auto scores = localisation_scores(maps, regions, "");
        py::dict out;
        out["pointing_game"] = scores.pointing_game;
        out["relevance_mass"] = scores.relevance_mass;
        out["relevance_rank"] = scores.relevance_rank;
        return out;
      },
      py::arg("maps"), py::arg("regions"));
  m.def("map_measures", &map_measures, py::arg("network"), py::arg("x"), py::arg("targets"), py::arg("method"),
        py::arg("method_options"), py::arg("maps"), py::arg("options"));
  m.def(
      "perturbation",
      [](PyNetwork& net, const torch::Tensor& x, const torch::Tensor& targets, const torch::Tensor& maps,
         const std::string& method, const std::string& options_text) {
        const auto options = read_options<PerturbationOptions>(parse_options(options_text), "perturbation");
        PerturbationCurves curves;
        {
          EngineScope engine;
          curves = perturbation_curves(*net.network, x, targets, maps, method, options);
        }
        py::dict out;
        out["percentages"] = options.percentages;
        out["ranking"] = curves.ranking;
        out["morf_probability"] = curves.morf_probability;
        out["lerf_probability"] = curves.lerf_probability;
        out["morf_logit"] = curves.morf_logit;
        out["lerf_logit"] = curves.lerf_logit;
        out["original_probability"] = curves.original_probability;
        out["original_logit"] = curves.original_logit;
        out["morf_hit"] = curves.morf_hit;
        out["lerf_hit"] = curves.lerf_hit;
        out["aopc_morf"] = aopc(curves.morf_probability, curves.original_probability, options.percentages);
        out["aopc_lerf"] = aopc(curves.lerf_probability, curves.original_probability, options.percentages);
        return out;
      },
      py::arg("network"), py::arg("x"), py::arg("targets"), py::arg("maps"), py::arg("method"), py::arg("options"));
}

}  // namespace prism::python
