#include "prism/report/report_page.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>

#include "prism/prism.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

std::string as_percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %%", 100 * value);
  return text;
}

std::string signed_value(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%+.3g", value);
  return text;
}

// A fit must be of the report's model (checked by its checksum; `refit` names the command that redoes it) and data
// (by its name); its provenance is returned.
Provenance checked_provenance(const nlohmann::json& provenance_json, const ReportOptions& o, const std::string& fit_dir,
                              const std::string& refit) {
  const auto provenance = Provenance::from_json(provenance_json);
  provenance.model_path(o.model, fit_dir, refit);
  require(provenance.data == o.data, "the fit in " + fit_dir + " was built on the data set '" + provenance.data +
                                         "', but the report reads '" + o.data + "'; give --data " + provenance.data +
                                         " or a fit of this data");
  return provenance;
}

// The evaluation results in `dir`: its markdown tables and SVG plots, in name order.
void add_evaluation(HtmlPage& page, const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && (entry.path().extension() == ".md" || entry.path().extension() == ".svg"))
      files.push_back(entry.path());
  require(!files.empty(), "evaluations: " + dir.string() + " holds no results (*.md tables, *.svg plots) of prism evaluate");
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    return std::make_pair(a.extension() != ".md", a.filename()) < std::make_pair(b.extension() != ".md", b.filename());
  });
  page.begin_section("evaluation-" + dir.filename().string());
  page.heading(2, "Evaluation: " + dir.string());
  for (const auto& file : files) {
    const auto bytes = read_file(file, 8 << 20);
    const std::string text(bytes.begin(), bytes.end());
    if (file.extension() == ".md") {
      page.markdown(text);
    } else {
      require(text.rfind("<svg", 0) == 0, file.string() + " is not an SVG plot written by prism");
      page.svg(text);
    }
  }
  page.end_section();
}

// The concepts' TCAV scores for output k: a bar per concept (starred where significant), the dashed line at the
// random CAVs' mean score, which is what the t-test compares against.
torch::Tensor tcav_picture(const TcavResult& tcav, int64_t k) {
  std::vector<double> values;
  std::vector<std::string> labels;
  for (size_t c = 0; c < tcav.concepts.size(); ++c) {
    values.push_back(tcav.scores[c][k].mean().item<double>());
    labels.push_back(tcav.concepts[c] + (tcav.significant(c, k) ? " *" : ""));
  }
  return bar_chart_picture(values, labels, tcav.null_scores[k].mean().item<double>(),
                           "TCAV score for " + tcav.outputs[k]);
}

// The feature methods shown by default: the CAMs need a convolutional map, so tables and models without a
// convolution go without Grad-CAM.
// A row of features as a one-row table headed by the feature names.
void add_feature_row(HtmlPage& page, const std::vector<std::string>& names, const torch::Tensor& row) {
  std::vector<std::string> values;
  for (int64_t f = 0; f < row.size(0); ++f) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", row[f].item<double>());
    values.push_back(text);
  }
  page.table(names, {values});
}

}  // namespace

size_t write_report(const ReportOptions& o, const Dataset& test, const fs::path& out) {
  require(o.scale >= 1 && o.scale <= 16, "scale must lie in [1, 16]");
  require(o.top >= 1 && o.k >= 1 && o.xda_pairs >= 0, "k and top must be at least 1, xda_pairs at least 0");
  require(!o.indices.empty(), "indices: give at least one test sample");
  for (const auto i : o.indices)
    require(i >= 0 && i < test.size(), "index " + std::to_string(i) + " is outside the data (" +
                                           std::to_string(test.size()) + " samples)");
  const bool table = test.is_table(), sequence = test.is_sequence();
  const auto feature_names = feature_labels(test.feature_names, table ? test.images.size(1) : 0);
  auto network = load_network(o.model, test.sample_shape());
  network->set_training(false);
  const auto& chosen = o.indices;
  const auto index = torch::tensor(chosen, torch::kInt64);
  const auto images = test.images.index_select(0, index), labels = test.labels.index_select(0, index);
  const auto& names = network->class_names();
  torch::Tensor probabilities;
  {
    torch::NoGradGuard no_grad;
    probabilities = torch::softmax(network->forward(images), 1);
  }
  const auto predictions = probabilities.argmax(1);

  // Open and check every fit and evaluation folder before the expensive work.
  std::optional<EbeDnn> examples;
  Dataset example_train, influence_train;
  if (!o.examples.empty()) {
    examples = EbeDnn::open(o.examples);
    const auto provenance = checked_provenance(examples->record().at("provenance"), o, o.examples, "prism examples fit");
    require(o.k <= examples->size(), "k exceeds the fit's training examples");
    example_train = provenance.training_data(examples->size(), o.examples);
  }
  std::optional<DataFit> influence;
  if (!o.influence.empty()) {
    influence = open_data_fit(o.influence);
    const auto provenance = checked_provenance(influence->record.at("provenance"), o, o.influence, "prism influence fit");
    influence_train = provenance.training_data(influence->attributor->train_size(), o.influence);
  }
  std::optional<FlintFolder> flint;
  Dataset flint_train;
  if (!o.flint.empty()) {
    require(o.tau > 1, "tau must exceed 1 (the relevance threshold is 1/τ)");
    flint = open_flint(o.flint);
    const auto provenance = checked_provenance(flint->record.at("provenance"), o, o.flint, "prism flint train or posthoc");
    flint_train = random_subset(provenance.training_data(flint->record.at("train_samples"), o.flint),
                                o.flint_samples, 0);
  }
  std::optional<TcavStudy> tcav;
  if (!o.tcav.empty()) {
    tcav = open_tcav(o.tcav);
    checked_provenance(tcav->record.at("provenance"), o, o.tcav, "prism concepts tcav");
  }
  for (const auto& dir : o.evaluations) require(fs::is_directory(dir), "evaluations: " + dir + " is not a folder");
  std::vector<std::unique_ptr<FeatureAttributor>> methods;
  for (const auto& name : o.methods.empty() ? default_feature_methods(*network, table) : o.methods)
    methods.push_back(make_feature_attributor(name));

  // Feature maps, examples, data attributions.
  std::vector<torch::Tensor> maps;
  for (auto& method : methods)
    maps.push_back(attribute_in_batches(*method, *network, images, predictions, 32, method->name()));
  ExampleAttribution neighbours;
  if (examples) neighbours = examples->explain(*network, images, {.k = o.k});
  TopAttributions proponents, opponents;
  std::string influence_method;
  if (influence) {
    influence_method = influence->record.at("method").get<std::string>();
    const auto values = influence->attributor->attribute(*network, images, predictions);
    proponents = top_attributions(values, o.top, true);
    opponents = top_attributions(values, o.top, false);
  }

  FlintOutputs flint_outputs;
  AttributeSummary attribute_summary;
  if (flint) {
    flint_outputs = run_flint(*network, flint->interpreter, images);
    // For the class the page shows as predicted (from the inference pass), not run_flint's own argmax.
    flint_outputs.relevance =
        local_relevance(flint_outputs.attributes, flint->interpreter->head_weight().detach().cpu(), predictions);
    attribute_summary = summarise_attributes(*network, flint->interpreter, flint_train.images, o.top);
  }
  auto attribute_row = [&](int64_t j) {
    if (table)
      return feature_bar_picture(attribute_summary.profiles[j], feature_names,
                                 "phi " + std::to_string(j) + ": its top rows' mean features (sd)");
    return attribute_picture(attribute_summary, flint_train.images, j, o.scale / 2 + 1);
  };
  std::vector<std::string> method_names;
  for (const auto& method : methods) method_names.push_back(method->name());
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  HtmlPage page("prism report");
  page.facts({{"model", o.model + " (" + network->architecture() + ", checksum " + file_fingerprint(o.model) + ")"},
              {"data", o.data + ", test samples " + o.indices_text},
              {"feature methods", join(method_names) + (table ? " (targets: the predicted class)"
                                                                : " (targets: the predicted class; channels collapsed by sum)")},
              {"examples (EBE-DNN)", o.examples.empty() ? "not given (--examples FIT)"
                                                        : o.examples + ", k = " + std::to_string(o.k)},
              {"data attribution", o.influence.empty() ? "not given (--influence FIT)" : o.influence + " (" + influence_method + ")"},
              {"concepts (FLINT)", o.flint.empty() ? "not given (--flint DIR)"
                                                    : o.flint + " (" + flint->record.at("mode").get<std::string>() +
                                                          ", relevance above 1/τ, τ = " + signed_value(o.tau).substr(1) + ")"},
              {"human concepts (TCAV)", o.tcav.empty() ? "not given (--tcav DIR)"
                                                        : o.tcav + " (" + join(tcav->classes.concepts, ", ") + " at layer " +
                                                              tcav->classes.layer + ")"},
              {"evaluations", o.evaluations.empty() ? "not given (--evaluations DIR,...)" : join(o.evaluations)},
              {"written", stamp}});

  for (size_t b = 0; b < chosen.size(); ++b) {
    const int64_t label = labels[b].item<int64_t>(), predicted = predictions[b].item<int64_t>();
    page.begin_section("sample-" + std::to_string(chosen[b]));
    page.heading(2, "Test sample " + std::to_string(chosen[b]) + ": true " + names.at(label) + ", predicted " +
                        names.at(predicted) + " (" + as_percent(probabilities[b][predicted].item<double>()) + ")");
    if (table) {
      add_feature_row(page, feature_names, images[b]);
    } else {
      page.begin_gallery();
      const auto input = sample_picture(images[b], o.scale);
      page.picture(input, "input", sequence ? input.size(2) : images.size(3) * o.scale);
      page.end_gallery();
    }
    std::vector<std::pair<std::string, double>> bars;
    for (int64_t c = 0; c < network->num_classes(); ++c) bars.push_back({names.at(c), probabilities[b][c].item<double>()});
    page.bars(bars, predicted);

    page.heading(3, std::string(table ? "Which features" : sequence ? "Which steps" : "Which pixels") +
                        ": feature attribution of " + names.at(predicted));
    page.begin_gallery();
    for (size_t m = 0; m < methods.size(); ++m)
      if (table)
        page.picture(feature_bar_picture(maps[m][b], feature_names, methods[m]->name()), "the largest by |attribution|");
      else if (sequence)
        page.picture(sequence_map_picture(images[b], collapse_sample_channels(maps[m][b])), methods[m]->name());
      else
        page.picture(heatmap_picture(collapse_sample_channels(maps[m][b]), o.scale), methods[m]->name());
    page.end_gallery();

    if (examples) {
      const int64_t knn = neighbours.predictions[b].item<int64_t>();
      page.heading(3, "Which training examples: EBE-DNN's " + std::to_string(o.k) + " nearest neighbours vote " +
                          names.at(knn) + " (" + as_percent(neighbours.probabilities[b][knn].item<double>()) + ")");
      if (table) {
        const ExampleOutputs shown{images, labels, chosen, &example_train, names};
        ExampleTable rows(shown, b, "weight");
        for (int64_t j = 0; j < neighbours.indices.size(1); ++j) {
          const int64_t i = neighbours.indices[b][j].item<int64_t>();
          rows.add("neighbour", i, neighbours.weights[b][j].item<double>(), neighbours.labels[b][j].item<int64_t>(),
                   example_train.images[i]);
        }
        page.table(rows.header(), rows.cells(4));
      } else {
        page.begin_gallery();
        for (int64_t j = 0; j < neighbours.indices.size(1); ++j) {
          const int64_t i = neighbours.indices[b][j].item<int64_t>();
          page.picture(sample_picture(example_train.images[i], o.scale),
                       "w " + as_percent(neighbours.weights[b][j].item<double>()) + " · " +
                           names.at(neighbours.labels[b][j].item<int64_t>()) + " · #" + std::to_string(i));
        }
        page.end_gallery();
      }
    }
    if (influence && table) {
      page.heading(3, "Proponents and opponents (" + influence_method + ")");
      const ExampleOutputs shown{images, labels, chosen, &influence_train, names};
      ExampleTable rows(shown, b, "value");
      for (const bool support : {true, false}) {
        const auto& top = support ? proponents : opponents;
        for (int64_t j = 0; j < top.indices.size(1); ++j) {
          const int64_t i = top.indices[b][j].item<int64_t>();
          rows.add(support ? "proponent" : "opponent", i, top.values[b][j].item<double>(),
                   influence_train.labels[i].item<int64_t>(), influence_train.images[i]);
        }
      }
      page.table(rows.header(), rows.cells(4));
    } else if (influence) {
      for (const bool support : {true, false}) {
        const auto& top = support ? proponents : opponents;
        page.heading(3, std::string(support ? "Proponents" : "Opponents") + " (" + influence_method + ")");
        page.begin_gallery();
        for (int64_t j = 0; j < top.indices.size(1); ++j) {
          const int64_t i = top.indices[b][j].item<int64_t>();
          page.picture(sample_picture(influence_train.images[i], o.scale),
                       signed_value(top.values[b][j].item<double>()) + " · " +
                           names.at(influence_train.labels[i].item<int64_t>()) + " · #" + std::to_string(i));
        }
        page.end_gallery();
      }
      const int64_t pairs = std::min(o.xda_pairs, proponents.indices.size(1));
      if (supports_xda(influence_method) && pairs > 0 && test.is_image()) {
        page.heading(3, "Which parts of both images (XDA): LRP of each pair's attribution, test image above");
        const auto shown = torch::cat({proponents.indices[b].narrow(0, 0, pairs), opponents.indices[b].narrow(0, 0, pairs)});
        const auto values = torch::cat({proponents.values[b].narrow(0, 0, pairs), opponents.values[b].narrow(0, 0, pairs)});
        const auto xda = xda_heatmaps(*network, images[b], influence_train.images.index_select(0, shown), values);
        page.begin_gallery();
        for (int64_t p = 0; p < shown.size(0); ++p)
          page.picture(stack_rows({overlay_picture(images[b], collapse_sample_channels(xda.test_maps[p]), o.scale),
                                   overlay_picture(influence_train.images[shown[p].item<int64_t>()],
                                                   collapse_sample_channels(xda.train_maps[p]), o.scale)},
                                  4),
                       signed_value(values[p].item<double>()) + " · #" + std::to_string(shown[p].item<int64_t>()));
        page.end_gallery();
      }
    }
    if (flint) {
      const int64_t g = flint_outputs.interpreter_logits[b].argmax().item<int64_t>();
      page.heading(3, "Which concepts: FLINT's interpreter predicts " + names.at(g) + "; relevance of its " +
                          std::to_string(flint_outputs.relevance.size(1)) + " attributes for " + names.at(predicted));
      std::vector<double> values;
      std::vector<std::string> labels;
      for (int64_t j = 0; j < flint_outputs.relevance.size(1); ++j) {
        values.push_back(flint_outputs.relevance[b][j].item<double>());
        labels.push_back("phi " + std::to_string(j));
      }
      page.begin_gallery();
      page.picture(bar_chart_picture(values, labels, 1 / o.tau, "relevance r(j, x)"), "dashed: 1/τ");
      const auto local = local_interpretation(flint_outputs.relevance[b].unsqueeze(0), o.tau)[0];
      for (size_t i = 0; i < std::min<size_t>(local.size(), 3); ++i)
        page.picture(attribute_row(local[i]), "φ" + std::to_string(local[i]) + " (r " +
                                                  signed_value(flint_outputs.relevance[b][local[i]].item<double>()) +
                                                  (table ? "): its top training rows' mean features"
                                                         : sequence ? "): top training samples"
                                                                    : "): top training samples, then maximised"));
      page.end_gallery();
    }
    if (tcav) {
      const auto& outputs = tcav->classes.outputs;
      const auto k = std::find(outputs.begin(), outputs.end(), names.at(predicted)) - outputs.begin();
      page.heading(3, "Which human concepts: TCAV scores for " + names.at(predicted) + " at layer " + tcav->classes.layer);
      if (k == static_cast<int64_t>(outputs.size())) {
        page.paragraph("The TCAV study in " + o.tcav + " did not score " + names.at(predicted) + ".");
      } else {
        page.begin_gallery();
        page.picture(tcav_picture(tcav->classes, k),
                     "share of " + names.at(predicted) + " inputs each concept's direction raises the logit of; "
                     "dashed: random directions; *: p < " + signed_value(tcav->classes.alpha).substr(1));
        page.end_gallery();
      }
    }
    page.end_section();
  }
  if (table && chosen.size() > 1) {
    page.begin_section("features-overall");
    page.heading(2, "Which features overall: mean |attribution| over the " + std::to_string(chosen.size()) + " samples shown");
    page.begin_gallery();
    for (size_t m = 0; m < methods.size(); ++m)
      page.picture(feature_bar_picture(maps[m].abs().mean(0), feature_names, methods[m]->name()), "the largest");
    page.end_gallery();
    page.end_section();
  }
  if (tcav && tcav->attributes) {
    const auto& a = *tcav->attributes;
    page.begin_section("tcav-flint");
    page.heading(2, "Which human concepts FLINT's attributes stand for: TCAV at layer " + a.layer);
    auto matrix = torch::zeros({static_cast<int64_t>(a.concepts.size()), static_cast<int64_t>(a.outputs.size())});
    for (size_t c = 0; c < a.concepts.size(); ++c)
      for (size_t j = 0; j < a.outputs.size(); ++j)
        if (a.significant(c, j)) matrix[c][j] = a.scores[c][j].mean().item<double>() - a.null_scores[j].mean().item<double>();
    page.begin_gallery();
    page.picture(matrix_picture(matrix, a.concepts, a.outputs, "concept x attribute"),
                 "TCAV score minus the random directions' where significant (p < " + signed_value(a.alpha).substr(1) +
                     "), 0 elsewhere: red, the concept raises the attribute");
    page.end_gallery();
    page.end_section();
  }
  if (flint) {
    page.begin_section("flint-global");
    page.heading(2, "FLINT's global interpretation: relevance of each attribute for each class");
    std::vector<std::string> attribute_names;
    for (int64_t j = 0; j < attribute_summary.class_relevance.size(1); ++j) attribute_names.push_back(std::to_string(j));
    page.begin_gallery();
    page.picture(matrix_picture(attribute_summary.class_relevance, names, attribute_names, "class x attribute"),
                 "mean relevance over " + std::to_string(flint_train.size()) + " training samples, by predicted class");
    page.end_gallery();
    page.end_section();
  }
  for (const auto& dir : o.evaluations) add_evaluation(page, dir);

  if (out.has_parent_path()) make_directory(out.parent_path());
  const auto html = page.html();
  write_file_atomic(out, html);
  return html.size();
}


}  // namespace prism
