// The report: one self-contained HTML page that explains test predictions with every family prism has — feature
// maps (the pruned gradient first), EBE-DNN's examples, DualView's proponents and opponents with their XDA heatmaps,
// FLINT's attributes with what each stands for, TCAV's scores of human concepts — and shows the evaluation runs
// given. On table rows the input is a row of feature values, the maps are bar charts of the features, the examples
// and proponents are table rows with the features that differ most, FLINT's attributes are their top rows' mean
// features, and a last section shows the methods' mean |attribution| per feature. Every fit and folder is opened and checked before the expensive work, everything is computed before the
// page is written, and it is written in one atomic write.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "prism/data/dataset.h"

namespace prism {

struct ReportOptions {
  std::string model;               // the model file
  std::string data;                // the data set's spec; every fit must have been built on the same
  std::vector<int64_t> indices;    // the test samples shown
  std::string indices_text;        // as the user gave them, for the header
  // feature methods in the order shown; empty: pruned-gradient, saliency, integrated-gradients, smoothgrad, grad-cam
  // (images only) and lrp
  std::vector<std::string> methods;
  std::string examples;            // an EBE-DNN fit folder ("": none)
  std::string influence;           // a data-attribution fit folder
  std::string flint;               // a FLINT folder
  std::string tcav;                // a TCAV folder
  std::vector<std::string> evaluations;  // folders written by prism evaluate
  int64_t k = 10, top = 5, xda_pairs = 2, scale = 4;
  int64_t flint_samples = 10000;  // training samples that show what each FLINT attribute stands for
  double tau = 2;                 // FLINT's relevance threshold 1/τ
};

// Writes the page for the `test` split of options.data to `out`; returns its size in bytes. A fit of another model
// or data set, or an index outside the data, is refused before anything is written.
size_t write_report(const ReportOptions& options, const Dataset& test, const std::filesystem::path& out);

}  // namespace prism
