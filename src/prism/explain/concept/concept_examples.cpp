#include "prism/explain/concept/concept_examples.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>

#include "prism/core/error.h"
#include "prism/data/catalog.h"
#include "prism/data/readers.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

int64_t class_of(const std::string& name, const Dataset& train, const std::string& spec) {
  for (int64_t k = 0; k < train.num_classes(); ++k)
    if (train.class_names[k] == name) return k;
  try {
    size_t used = 0;
    const auto k = std::stoll(name, &used);
    if (used == name.size() && k >= 0 && k < train.num_classes()) return k;
  } catch (const std::exception&) {
  }
  std::string names;
  for (const auto& n : train.class_names) names += (names.empty() ? "" : ", ") + n;
  throw Error("concept '" + spec + "': no class " + name + " in " + train.name + "; give an index or one of: " + names);
}

torch::Tensor folder_images(const fs::path& dir, const std::vector<int64_t>& input_shape, const std::string& spec) {
  require(fs::is_directory(dir), "concept '" + spec + "': folder " + dir.string() + " not found");
  require(input_shape.size() == 3, "concept '" + spec + "': the model does not say its input shape; give a class concept");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (entry.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp"))
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  require(!files.empty(), "concept '" + spec + "': no PNG/JPEG/BMP images in " + dir.string());
  std::vector<torch::Tensor> images;
  for (const auto& file : files) {
    auto image = read_image(file, static_cast<int>(input_shape[0]));
    require(image.size(1) == input_shape[1] && image.size(2) == input_shape[2],
            file.string() + " is " + std::to_string(image.size(2)) + "x" + std::to_string(image.size(1)) +
                " but the model takes " + std::to_string(input_shape[2]) + "x" + std::to_string(input_shape[1]) +
                "; resize the concept's images to the model's input");
    images.push_back(image);
  }
  return torch::stack(images).to(torch::kFloat32) / 255.0;
}

}  // namespace

torch::Tensor random_examples(const Dataset& train) {
  return train.images.index_select(0, (~train.marked).nonzero().flatten());
}

ConceptExamples concept_examples(const std::string& spec, const Dataset& train, const std::vector<int64_t>& input_shape,
                                 const MarkOptions& mark, int64_t count, uint64_t seed) {
  const auto colon = spec.find(':');
  const auto kind = spec.substr(0, colon), rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  ConceptExamples examples;
  if (kind == "class" && !rest.empty()) {
    const auto k = class_of(rest, train, spec);
    examples.name = "class:" + train.class_names[k];
    examples.images = train.images.index_select(0, (train.labels == k).nonzero().flatten());
  } else if (spec == "mark") {
    examples.name = "mark";
    examples.images = stamp_mark(random_subset(train, count, seed + 1).images, mark);
  } else if (kind == "folder" && !rest.empty()) {
    examples.name = "folder:" + fs::path(rest).lexically_normal().filename().string();
    if (examples.name == "folder:") examples.name = "folder:" + fs::path(rest).lexically_normal().parent_path().filename().string();
    examples.images = folder_images(rest, input_shape, spec);
  } else {
    throw Error("unknown concept '" + spec + "'; use class:K (or class:NAME), mark or folder:DIR");
  }
  require(examples.images.size(0) >= 4, "concept '" + spec + "' has " + std::to_string(examples.images.size(0)) +
                                           " images; a CAV needs at least 4");
  if (examples.images.size(0) > count) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    examples.images = examples.images.index_select(0, torch::randperm(examples.images.size(0), generator, torch::kInt64)
                                                        .narrow(0, 0, count));
  }
  return examples;
}

}  // namespace prism
