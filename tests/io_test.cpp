// Readers and writers of untrusted files: NPY, IDX (real Fashion-MNIST and corrupted copies),
// CIFAR-10 records, image folders, PNG.
#include "test_util.h"

namespace prism {
namespace {
using test::TempDir;

template <typename F>
void expect_error(F&& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "error spans lines: " << e.what();
  }
}

TEST(Npy, RoundTripsEveryWrittenDtype) {
  TempDir dir;
  const std::vector<torch::Tensor> tensors = {torch::randn({2, 3, 4}), torch::arange(5, torch::kInt64),
                                              torch::randint(0, 255, {7}, torch::kUInt8), torch::rand({3}) > 0.5,
                                              torch::zeros({0, 4})};
  for (size_t i = 0; i < tensors.size(); ++i) {
    char name[16];  // (std::string concatenation here trips a GCC 12 -Wstringop-overflow false positive)
    std::snprintf(name, sizeof name, "t%zu.npy", i);
    const auto path = dir / name;
    write_npy(path, tensors[i]);
    const auto back = read_npy(path);
    EXPECT_EQ(back.sizes(), tensors[i].sizes());
    EXPECT_EQ(back.scalar_type(), tensors[i].scalar_type());
    EXPECT_TRUE(torch::equal(back, tensors[i]));
  }
}

TEST(Npy, ReadsWhatNumpyWrote) {
  const auto images = read_npy(test::fixtures() / "sequential.input.npy");
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{3, 1, 28, 28}));
  EXPECT_GE(images.min().item<float>(), 0.0f);
  EXPECT_LE(images.max().item<float>(), 1.0f);
}

// Arrays NumPy wrote with known values (the fixture script's v[i] = (i − 7) / 4, cast to each dtype), read exactly.
TEST(Npy, ReadsEveryDtypeAndOrderNumpyWritesExactly) {
  const auto folder = test::fixtures() / "npy";
  const auto values = (torch::arange(24, torch::kFloat64) - 7) / 4;
  const std::vector<std::pair<std::string, torch::ScalarType>> dtypes = {
      {"float16", torch::kHalf}, {"float32", torch::kFloat32}, {"float64", torch::kFloat64},
      {"int8", torch::kInt8},    {"int16", torch::kInt16},     {"int32", torch::kInt32},
      {"int64", torch::kInt64},  {"uint8", torch::kUInt8},     {"bool", torch::kBool}};
  for (const auto& [name, type] : dtypes) {
    SCOPED_TRACE(name);
    const auto read = read_npy(folder / (name + ".npy"));
    ASSERT_EQ(read.scalar_type(), type);
    // NumPy casts to integers by truncation toward zero, as torch does.
    const auto expected = (type == torch::kUInt8 ? values.abs() : values).to(type).view({2, 3, 4});
    EXPECT_TRUE(torch::equal(read, expected));
    EXPECT_TRUE(torch::equal(map_npy(folder / (name + ".npy")), expected));
  }
  const auto fortran = read_npy(folder / "fortran.npy");
  EXPECT_TRUE(fortran.is_contiguous());
  EXPECT_TRUE(torch::equal(fortran, values.to(torch::kFloat32).view({2, 3, 4})));
  EXPECT_TRUE(torch::equal(map_npy(folder / "fortran.npy"), fortran));
  EXPECT_TRUE(torch::equal(read_npy(folder / "transposed.npy"), values.to(torch::kInt64).view({4, 6}).t()));
  EXPECT_EQ(read_npy(folder / "empty.npy").sizes(), (std::vector<int64_t>{0, 5}));
  const auto scalar = read_npy(folder / "scalar.npy");
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.item<double>(), 2.5);
  // A header flipped to Fortran order reads the same bytes column-major.
  std::string flipped = encode_npy(torch::arange(6, torch::kInt64).view({2, 3}));
  flipped.replace(flipped.find("False"), 5, "True ");
  const auto column_major = parse_npy(reinterpret_cast<const uint8_t*>(flipped.data()), flipped.size(), "x.npy");
  EXPECT_TRUE(torch::equal(column_major, torch::arange(6, torch::kInt64).view({3, 2}).t()));
}

TEST(Npy, RejectsCorruptFiles) {
  const std::string good = encode_npy(torch::ones({4, 4}));
  auto parse = [](const std::string& bytes) {
    return parse_npy(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.npy");
  };
  expect_error([&] { parse("not a numpy file"); }, "bad magic");
  expect_error([&] { parse(good.substr(0, good.size() - 3)); }, "truncated");
  std::string absurd = good;
  absurd.replace(absurd.find("(4, 4)"), 6, "(9999999999999, 9999999)");
  expect_error([&] { parse(absurd); }, "absurd");
  std::string complex = good;
  complex.replace(complex.find("<f4"), 3, "<c8");
  expect_error([&] { parse(complex); }, "unsupported dtype");
  expect_error([&] { parse(good.substr(0, 9)); }, "bad magic");
}

TEST(Idx, ReadsRealFashionMnist) {
  const auto& train = test::fashion_train();
  const auto& test_split = test::fashion_test();
  EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(test_split.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(train.num_classes(), 10);
  EXPECT_EQ(train.class_names[9], "Ankle boot");
  // Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
  EXPECT_TRUE(torch::equal(torch::bincount(train.labels), torch::full({10}, 6000, torch::kInt64)));
  EXPECT_TRUE(torch::equal(torch::bincount(test_split.labels), torch::full({10}, 1000, torch::kInt64)));
  EXPECT_GE(train.images.min().item<float>(), 0.0f);
  EXPECT_LE(train.images.max().item<float>(), 1.0f);
  EXPECT_NEAR(train.images.mean().item<double>(), 0.2860, 1e-3);  // the known per-pixel mean
}

TEST(Idx, RejectsCorruptedCopies) {
  TempDir dir;
  const auto labels = read_file(fashion_mnist_dir() + "/t10k-labels-idx1-ubyte.gz", 1 << 30);
  ASSERT_EQ(labels.size(), 8u + 10000u);
  auto parse = [](const std::vector<uint8_t>& bytes) { return parse_idx(bytes.data(), bytes.size(), "f"); };
  EXPECT_EQ(parse(labels).size(0), 10000);
  expect_error([&] { parse({labels.begin(), labels.end() - 1}); }, "truncated");
  auto magic = labels;
  magic[0] = 0x7f;
  expect_error([&] { parse(magic); }, "bad magic");
  auto dtype = labels;
  dtype[2] = 0x0d;
  expect_error([&] { parse(dtype); }, "not supported");
  auto absurd = std::vector<uint8_t>{0, 0, 8, 3, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff};
  expect_error([&] { parse(absurd); }, "absurd");
  expect_error([&] { parse({0, 0}); }, "bad magic");

  // A truncated gzip file, and an images file paired with labels of another split.
  const auto packed = test::read_bytes(fashion_mnist_dir() + "/t10k-labels-idx1-ubyte.gz");
  test::write_bytes(dir / "cut.gz", {packed.begin(), packed.begin() + packed.size() / 2});
  expect_error([&] { read_idx(dir / "cut.gz"); }, "gzip");
  std::filesystem::copy(fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz", dir / "t10k-images-idx3-ubyte.gz");
  std::filesystem::copy(fashion_mnist_dir() + "/train-labels-idx1-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz");
  expect_error([&] { load_dataset("idx:" + dir.path().string(), Split::Test); }, "do not belong together");
  expect_error([&] { load_dataset("idx:" + (dir / "nothing").string(), Split::Test); }, "not found");
  expect_error([&] { load_dataset("imagenet", Split::Test); }, "unknown data set");
}

TEST(Cifar, ParsesRecordsAndRejectsPartialOnes) {
  std::vector<uint8_t> bytes(2 * 3073);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i % 251);
  bytes[0] = 3;
  bytes[3073] = 7;
  const auto parsed = parse_cifar(bytes.data(), bytes.size(), "batch");
  EXPECT_EQ(parsed.labels[0].item<int64_t>(), 3);
  EXPECT_EQ(parsed.labels[1].item<int64_t>(), 7);
  // Planar layout: red plane first, row by row.
  EXPECT_EQ(parsed.images[1][0][0][1].item<uint8_t>(), bytes[3073 + 2]);
  EXPECT_EQ(parsed.images[0][2][31][31].item<uint8_t>(), bytes[3072]);
  expect_error([&] { parse_cifar(bytes.data(), bytes.size() - 1, "batch"); }, "whole number");
  bytes[0] = 12;
  expect_error([&] { parse_cifar(bytes.data(), bytes.size(), "batch"); }, "labels above 9");
}

// A folder of CIFAR-10's binary version: five training batches read in order, the test batch apart, values /255.
TEST(Cifar, ReadsTheBatchesOfAFolderInOrder) {
  TempDir dir;
  std::vector<std::vector<uint8_t>> batches;
  for (int b = 0; b < 6; ++b) {
    std::vector<uint8_t> bytes(3 * 3073);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>((i * 7 + b * 31) % 256);
    for (int r = 0; r < 3; ++r) bytes[r * 3073] = static_cast<uint8_t>((b + r) % 10);
    test::write_bytes(dir / (b < 5 ? "data_batch_" + std::to_string(b + 1) + ".bin" : "test_batch.bin"), bytes);
    batches.push_back(bytes);
  }
  const auto train = load_dataset("cifar10:" + dir.path().string(), Split::Train);
  const auto test_split = load_dataset("cifar10:" + dir.path().string(), Split::Test);
  ASSERT_EQ(train.size(), 15);
  ASSERT_EQ(test_split.size(), 3);
  EXPECT_EQ(train.sample_shape(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(train.class_names.at(3), "cat");
  for (int64_t n = 0; n < 15; ++n) {
    const auto& bytes = batches[n / 3];
    const size_t record = (n % 3) * 3073;
    EXPECT_EQ(train.labels[n].item<int64_t>(), bytes[record]);
    // channel 1 (green), row 5, column 9
    EXPECT_FLOAT_EQ(train.images[n][1][5][9].item<float>(), bytes[record + 1 + 1024 + 5 * 32 + 9] / 255.0f);
  }
  EXPECT_EQ(test_split.labels[2].item<int64_t>(), batches[5][2 * 3073]);
  std::filesystem::remove(dir / "data_batch_4.bin");
  expect_error([&] { load_dataset("cifar10:" + dir.path().string(), Split::Train); }, "data_batch_4.bin not found");
}

TEST(ImageFolder, ReadsPngClassesAndRejectsGarbage) {
  TempDir dir;
  std::vector<torch::Tensor> written;
  for (const std::string cls : {"cat", "dog"})
    for (int i = 0; i < 2; ++i) {
      auto image = torch::randint(0, 256, {3, 8, 6}, torch::kUInt8);
      write_png(dir / cls / (std::to_string(i) + ".png"), image);
      written.push_back(image);
    }
  const auto data = load_dataset("folder:" + dir.path().string(), Split::Train);
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_TRUE(torch::equal(data.labels, torch::tensor({0, 0, 1, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::allclose(data.images, torch::stack(written).to(torch::kFloat32) / 255.0));
  test::write_bytes(dir / "dog" / "broken.png", {0x89, 'P', 'N', 'G', 1, 2, 3});
  expect_error([&] { load_dataset("folder:" + dir.path().string(), Split::Train); }, "cannot decode image");
}

}  // namespace
}  // namespace prism
