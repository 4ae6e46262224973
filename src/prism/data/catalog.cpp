#include "prism/data/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "prism/core/error.h"
#include "prism/data/readers.h"
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
torch::Tensor images_from_array(torch::Tensor array, const std::string& source) {
  require(array.dim() == 3 || array.dim() == 4,
          source + ": images must be [N, H, W], [N, C, H, W] or [N, H, W, C] (got " +
              std::to_string(array.dim()) + " dimensions)");
  if (array.dim() == 3) array = array.unsqueeze(1);
  if (array.size(1) > 4 && (array.size(3) == 1 || array.size(3) == 3)) array = array.permute({0, 3, 1, 2});
  if (array.scalar_type() == torch::kUInt8) return array.to(torch::kFloat32) / 255.0;
  require(array.is_floating_point(), source + ": images must be float32/float64 in [0, 1] or uint8");
  return array.to(torch::kFloat32);
}

Dataset load_npy(const std::string& paths, const std::string& spec) {
  const auto comma = paths.find(',');
  require(comma != std::string::npos, "data set '" + spec + "': write npy:IMAGES.npy,LABELS.npy");
  const std::string image_path = paths.substr(0, comma), label_path = paths.substr(comma + 1);
  auto images = images_from_array(read_npy(image_path), image_path);
  auto labels = read_npy(label_path);
  require(!labels.is_floating_point() && labels.dim() == 1,
          label_path + ": labels must be a 1-dimensional integer array");
  require(images.size(0) == labels.size(0), spec + ": " + std::to_string(images.size(0)) + " images but " +
                                                std::to_string(labels.size(0)) + " labels; give one label per image");
  return make_dataset(spec, images, labels, {}, {});
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
  if (kind == "idx" && !rest.empty()) return load_idx(rest, split, spec, {}, {});
  if (kind == "cifar10" && !rest.empty()) return load_cifar(rest, split, spec);
  if (kind == "npy" && !rest.empty()) return load_npy(rest, spec);
  if (kind == "folder" && !rest.empty()) return load_folder(rest, split, spec);
  throw Error("unknown data set '" + spec +
              "'; use fashion-mnist, idx:PREFIX, cifar10:DIR, npy:IMAGES.npy,LABELS.npy or folder:DIR");
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
