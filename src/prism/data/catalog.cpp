#include "prism/data/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "prism/core/error.h"
#include "prism/core/text.h"
#include "prism/data/readers.h"
#include "prism/io/csv.h"
#include "prism/io/npy.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

const std::vector<std::string> kFashionClasses = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
const std::vector<std::string> kCifarClasses = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};

std::string split_name(Split split) { return split == Split::Train ? "train" : "test"; }

// "dir/train-images-idx3-ubyte" or the same with ".gz", whichever exists.
fs::path find_idx_file(const std::string& prefix, const std::string& stem, const std::string& spec) {
  for (const char* suffix : {"", ".gz"}) {
    fs::path candidate = prefix + stem + suffix;
    if (fs::exists(candidate)) return candidate;
  }
  throw Error("data set '" + spec + "': " + prefix + stem + "[.gz] not found; " +
              (spec == "fashion-mnist" ? "install Debian's dataset-fashion-mnist or set $PRISM_DATA"
                                       : "check the path after idx:"));
}

Dataset load_idx(const std::string& prefix_in, Split split, const std::string& spec,
                 std::vector<std::string> classes, Normalization normalization) {
  std::string prefix = prefix_in;
  if (fs::is_directory(prefix) && prefix.back() != '/') prefix += '/';
  const std::string part = split == Split::Train ? "train" : "t10k";
  const auto images = read_idx(find_idx_file(prefix, part + "-images-idx3-ubyte", spec));
  const auto labels = read_idx(find_idx_file(prefix, part + "-labels-idx1-ubyte", spec));
  require(images.dim() == 3, spec + ": the images file must be 3-dimensional [N, H, W]");
  require(labels.dim() == 1, spec + ": the labels file must be 1-dimensional [N]");
  require(images.size(0) == labels.size(0),
          spec + ": " + std::to_string(images.size(0)) + " images but " + std::to_string(labels.size(0)) +
              " labels in the " + split_name(split) + " split; the files do not belong together");
  return make_dataset(spec + ":" + split_name(split), images.unsqueeze(1).to(torch::kFloat32) / 255.0,
                      labels, std::move(classes), std::move(normalization));
}

Dataset load_cifar(const std::string& dir, Split split, const std::string& spec) {
  std::vector<fs::path> files;
  if (split == Split::Train)
    for (int b = 1; b <= 5; ++b) files.push_back(fs::path(dir) / ("data_batch_" + std::to_string(b) + ".bin"));
  else
    files.push_back(fs::path(dir) / "test_batch.bin");
  for (const auto& f : files)
    require(fs::exists(f), spec + ": " + f.string() + " not found; give the folder of CIFAR-10's binary version");
  auto raw = read_cifar_batches(files);
  Normalization norm{{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
  return make_dataset(spec + ":" + split_name(split), raw.images.to(torch::kFloat32) / 255.0, raw.labels,
                      kCifarClasses, norm);
}

// Images as [N, C, H, W] floats in [0, 1]: uint8 arrays are scaled, [N, H, W] gains a channel,
// [N, H, W, C] with C in {1, 3} is moved to channels-first.
// [N, F] arrays are table rows, kept as they are (as float32).
torch::Tensor images_from_array(torch::Tensor array, const std::string& source) {
  require(array.dim() >= 2 && array.dim() <= 4,
          source + ": samples must be table rows [N, F] or images [N, H, W], [N, C, H, W] or [N, H, W, C] (got " +
              std::to_string(array.dim()) + " dimensions)");
  if (array.dim() == 2) {
    require(array.is_floating_point() || array.scalar_type() == torch::kUInt8 || array.scalar_type() == torch::kInt64 ||
                array.scalar_type() == torch::kInt32,
            source + ": table rows must be numbers");
    return array.to(torch::kFloat32);
  }
  if (array.dim() == 3) array = array.unsqueeze(1);
  if (array.size(1) > 4 && (array.size(3) == 1 || array.size(3) == 3)) array = array.permute({0, 3, 1, 2});
  if (array.scalar_type() == torch::kUInt8) return array.to(torch::kFloat32) / 255.0;
  require(array.is_floating_point(), source + ": images must be float32/float64 in [0, 1] or uint8");
  return array.to(torch::kFloat32);
}

// Sequences as [N, C, T] floats, as given: [N, T] is one channel.
torch::Tensor sequences_from_array(torch::Tensor array, const std::string& source) {
  require(array.dim() == 2 || array.dim() == 3,
          source + ": sequences must be [N, T] (one channel) or [N, C, T] (got " + std::to_string(array.dim()) +
              " dimensions)");
  require(array.is_floating_point() || array.scalar_type() == torch::kUInt8 || array.scalar_type() == torch::kInt64 ||
              array.scalar_type() == torch::kInt32,
          source + ": sequences must be numbers");
  return (array.dim() == 2 ? array.unsqueeze(1) : array).to(torch::kFloat32);
}

Dataset load_npy(const std::string& paths, const std::string& spec, bool sequences) {
  const auto comma = paths.find(',');
  require(comma != std::string::npos,
          "data set '" + spec + "': write " + (sequences ? "sequence:SEQUENCES.npy" : "npy:IMAGES.npy") + ",LABELS.npy");
  const std::string image_path = paths.substr(0, comma), label_path = paths.substr(comma + 1);
  auto images = sequences ? sequences_from_array(read_npy(image_path), image_path)
                          : images_from_array(read_npy(image_path), image_path);
  auto labels = read_npy(label_path);
  require(!labels.is_floating_point() && labels.dim() == 1,
          label_path + ": labels must be a 1-dimensional integer array");
  const std::string unit = sample_noun(images.dim() - 1);
  require(images.size(0) == labels.size(0), spec + ": " + std::to_string(images.size(0)) + " " + unit + "s but " +
                                                std::to_string(labels.size(0)) + " labels; give one label per " + unit);
  return make_dataset(spec, images, labels, {}, {});
}

// A CSV's cell as a feature value; refused, naming where, if it is missing or not a finite number.
float feature_value(const std::string& cell, const std::string& column, const std::string& where) {
  const auto first = cell.find_first_not_of(" \t");
  const std::string trimmed = first == std::string::npos ? "" : cell.substr(first, cell.find_last_not_of(" \t") - first + 1);
  static const std::set<std::string> missing = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"};
  require(!missing.count(trimmed), where + ", column '" + column + "': missing value ('" + trimmed +
                                       "'); fill it (e.g. with the column's mean) or drop the row");
  char* end = nullptr;
  const double value = std::strtod(trimmed.c_str(), &end);
  require(end == trimmed.c_str() + trimmed.size(),
          where + ", column '" + column + "': '" + trimmed + "' is not a number; features must be numeric (encode "
                                                             "categories as numbers, or drop the column)");
  require(std::isfinite(value) && std::abs(value) < 3.0e38,
          where + ", column '" + column + "': " + trimmed + " is not a finite float; fix or drop the row");
  return static_cast<float>(value);
}

struct CsvSpec {
  std::vector<std::string> files;  // one (split 80/20) or two (train, test)
  std::string label;               // the label column; empty: the last
};

CsvSpec parse_csv_spec(const std::string& rest, const std::string& spec) {
  CsvSpec parsed;
  std::stringstream stream(rest);
  for (std::string part; std::getline(stream, part, ',');) {
    if (part.rfind("label=", 0) == 0)
      parsed.label = part.substr(6);
    else if (!part.empty())
      parsed.files.push_back(part);
  }
  require(!parsed.files.empty() && parsed.files.size() <= 2,
          "data set '" + spec + "': write csv:TABLE.csv or csv:TRAIN.csv,TEST.csv, optionally with ,label=COLUMN");
  return parsed;
}

// The rows of one CSV file: features [N, F] and each row's label cell.
struct CsvRows {
  torch::Tensor features;
  std::vector<std::string> labels;
  std::vector<std::string> feature_names;
};

CsvRows read_csv_rows(const std::string& file, const std::string& label_column) {
  const auto table = read_csv(file);
  const auto& header = table.header;
  const auto found = label_column.empty() ? header.end() - 1 : std::find(header.begin(), header.end(), label_column);
  require(found != header.end(), file + " has no column '" + label_column + "' for the labels; its columns are " +
                                     join(header) + " (name one with ,label=COLUMN)");
  require(header.size() >= 2, file + " has " + std::to_string(header.size()) +
                                  " column; a table needs feature columns and a label column");
  require(!table.rows.empty(), file + " has a header but no rows; give one row per sample");
  const size_t label = found - header.begin();
  CsvRows out;
  for (size_t c = 0; c < header.size(); ++c)
    if (c != label) out.feature_names.push_back(header[c]);
  const int64_t n = table.rows.size(), f = out.feature_names.size();
  out.features = torch::empty({n, f}, torch::kFloat32);
  auto values = out.features.accessor<float, 2>();
  for (int64_t r = 0; r < n; ++r) {
    const std::string where = file + " line " + std::to_string(table.lines[r]);
    int64_t column = 0;
    for (size_t c = 0; c < header.size(); ++c)
      if (c != label) values[r][column++] = feature_value(table.rows[r][c], header[c], where);
    out.labels.push_back(table.rows[r][label]);
    require(!out.labels.back().empty(), where + ": the label cell is empty; give every row a label or drop it");
  }
  return out;
}

bool is_class_number(const std::string& label) {
  return !label.empty() && label.size() <= 6 && std::all_of(label.begin(), label.end(), ::isdigit);
}

// The classes of the label cells: non-negative integers are class numbers (names "0".."K-1"); other text names
// classes, numbered in sorted order.
struct LabelClasses {
  std::vector<std::string> names;
  bool numbered = false;

  explicit LabelClasses(const std::vector<std::string>& labels)
      : numbered(std::all_of(labels.begin(), labels.end(), is_class_number)) {
    if (numbered) {
      int64_t highest = 0;
      for (const auto& l : labels) highest = std::max<int64_t>(highest, std::stoll(l));
      for (int64_t c = 0; c <= highest; ++c) names.push_back(std::to_string(c));
    } else {
      names = labels;
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
    }
    require(names.size() >= 2, "the label column holds one class only (" + names.front() +
                                   "); a classifier needs at least two");
  }

  torch::Tensor of(const std::vector<std::string>& labels) const {
    std::vector<int64_t> numbers;
    for (const auto& l : labels)
      numbers.push_back(numbered ? std::stoll(l) : std::find(names.begin(), names.end(), l) - names.begin());
    return torch::tensor(numbers, torch::kInt64);
  }
};

// A table: one file split 80/20 by a fixed seed (training/test), or a training and a test file. Features are
// raw numbers; the per-feature standardisation is the training part's, and travels with a model trained on it.
Dataset load_csv(const std::string& rest, Split split, const std::string& spec) {
  const auto parsed = parse_csv_spec(rest, spec);
  auto train = read_csv_rows(parsed.files[0], parsed.label);
  std::optional<CsvRows> test;
  if (parsed.files.size() == 2) {
    test = read_csv_rows(parsed.files[1], parsed.label);
    require(test->feature_names == train.feature_names, parsed.files[1] + " has other feature columns than " +
                                                            parsed.files[0] + "; give both files the same header");
  }
  auto all_labels = train.labels;
  if (test) all_labels.insert(all_labels.end(), test->labels.begin(), test->labels.end());
  const LabelClasses classes(all_labels);
  const auto& names = classes.names;
  torch::Tensor train_x = train.features, train_y = classes.of(train.labels), test_x, test_y;
  if (test) {
    test_x = test->features, test_y = classes.of(test->labels);
  } else {
    const int64_t n = train_x.size(0), held = n / 5;
    require(held >= 1, parsed.files[0] + " has " + std::to_string(n) + " rows; the 80/20 split needs at least 5 (or "
                                         "give a test file: csv:TRAIN.csv,TEST.csv)");
    auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
    const auto order = torch::randperm(n, generator, torch::kInt64);
    const auto test_rows = std::get<0>(order.narrow(0, 0, held).sort()), train_rows = std::get<0>(order.narrow(0, held, n - held).sort());
    test_x = train_x.index_select(0, test_rows), test_y = train_y.index_select(0, test_rows);
    train_x = train_x.index_select(0, train_rows), train_y = train_y.index_select(0, train_rows);
  }
  const auto normalization = compute_normalization(train_x);
  auto data = split == Split::Train ? make_dataset(spec + ":train", train_x, train_y, names, normalization)
                                    : make_dataset(spec + ":test", test_x, test_y, names, normalization);
  data.feature_names = train.feature_names;
  data.validate(data.name);
  return data;
}

Dataset load_folder(const std::string& dir_in, Split split, const std::string& spec) {
  fs::path dir = dir_in;
  require(fs::is_directory(dir), "data set '" + spec + "': folder " + dir.string() + " not found");
  if (fs::is_directory(dir / "train") && fs::is_directory(dir / "test")) dir /= split_name(split);
  std::vector<std::string> classes;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory()) classes.push_back(entry.path().filename().string());
  std::sort(classes.begin(), classes.end());
  require(!classes.empty(), spec + ": " + dir.string() + " has no class subfolders; put each class's images in its own folder");
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  int channels = 0;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir / classes[c])) {
      auto ext = entry.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
      if (entry.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp"))
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      if (channels == 0) channels = read_image(file, 0).size(0) >= 3 ? 3 : 1;
      auto image = read_image(file, channels);
      if (!images.empty() && image.sizes() != images.front().sizes())
        throw Error(file.string() + " is " + std::to_string(image.size(2)) + "x" + std::to_string(image.size(1)) +
                    " but earlier images are " + std::to_string(images.front().size(2)) + "x" +
                    std::to_string(images.front().size(1)) + "; resize all images to one size");
      images.push_back(image);
      labels.push_back(static_cast<int64_t>(c));
    }
  }
  require(!images.empty(), spec + ": no PNG/JPEG/BMP images under " + dir.string());
  return make_dataset(spec + ":" + split_name(split), torch::stack(images).to(torch::kFloat32) / 255.0,
                      torch::tensor(labels, torch::kInt64), classes, {});
}

}  // namespace

std::string fashion_mnist_dir() {
  const char* env = std::getenv("PRISM_DATA");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

Dataset load_dataset(const std::string& spec, Split split) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (spec == "fashion-mnist")
    return load_idx(fashion_mnist_dir(), split, spec, kFashionClasses, {{0.2860f}, {0.3530f}});
  if (spec == "fashion-mnist:rows") {  // each image read top to bottom: 28 steps of the 28 pixels of a row
    auto data = load_idx(fashion_mnist_dir(), split, "fashion-mnist", kFashionClasses, {{0.2860f}, {0.3530f}});
    data.images = data.images.squeeze(1).transpose(1, 2).contiguous();  // [N, C = column, T = row]
    data.normalization = {std::vector<float>(28, 0.2860f), std::vector<float>(28, 0.3530f)};
    data.name = spec + ":" + split_name(split);
    data.validate(data.name);
    return data;
  }
  if (kind == "idx" && !rest.empty()) return load_idx(rest, split, spec, {}, {});
  if (kind == "cifar10" && !rest.empty()) return load_cifar(rest, split, spec);
  if (kind == "npy" && !rest.empty()) return load_npy(rest, spec, false);
  if (kind == "sequence" && !rest.empty()) return load_npy(rest, spec, true);
  if (kind == "folder" && !rest.empty()) return load_folder(rest, split, spec);
  if (kind == "csv" && !rest.empty()) return load_csv(rest, split, spec);
  throw Error("unknown data set '" + spec +
              "'; use fashion-mnist, fashion-mnist:rows, idx:PREFIX, cifar10:DIR, npy:IMAGES.npy,LABELS.npy, "
              "sequence:SEQUENCES.npy,LABELS.npy, folder:DIR or csv:TABLE.csv");
}

Dataset random_subset(const Dataset& data, int64_t size, uint64_t seed) {
  if (size <= 0 || size >= data.size()) return data;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto order = torch::randperm(data.size(), generator, torch::kInt64);
  return data.select(order.narrow(0, 0, size));
}

TrainValidation split_validation(const Dataset& data, double fraction, uint64_t seed) {
  require(fraction > 0 && fraction < 1, "the validation fraction must lie between 0 and 1 (got " +
                                            std::to_string(fraction) + ")");
  const auto held = static_cast<int64_t>(std::llround(fraction * data.size()));
  require(held >= 1 && held < data.size(), "the validation split of " + std::to_string(data.size()) +
                                               " images would be empty; use more data or a larger fraction");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto order = torch::randperm(data.size(), generator, torch::kInt64);
  const auto sorted = [](const torch::Tensor& index) { return std::get<0>(index.sort()); };
  return {data.select(sorted(order.narrow(0, held, data.size() - held))), data.select(sorted(order.narrow(0, 0, held)))};
}

}  // namespace prism
