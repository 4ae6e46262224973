// Interruption safety: a SIGINT in the middle of a write leaves neither the temporary file nor a partial
// target, and an interrupted training run resumes from its last complete epoch.
#include <csignal>

#include "test_util.h"

namespace prism {
namespace {
namespace fs = std::filesystem;

std::vector<fs::path> temporaries_under(const fs::path& dir) {
  std::vector<fs::path> found;
  if (!fs::exists(dir)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(entry.path());
  return found;
}

TEST(Interruption, ASignalDuringAWriteRemovesTheTemporaryFile) {
  test::TempDir dir;
  const auto target = dir / "result.json";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        remove_temporaries_on_interrupt();
        write_file_atomic(target, [](std::ostream& out) {
          out << std::string(1 << 20, 'x');
          out.flush();
          std::raise(SIGINT);  // the temporary file exists and is half written
        });
      },
      ::testing::KilledBySignal(SIGINT), "");
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(temporaries_under(dir.path()).empty());
}

// Shell lines that wait (up to two minutes) until `file` exists: the signal then lands at a known stage,
// however fast or loaded the machine is.
std::string wait_for(const fs::path& file) {
  return "for i in $(seq 1200); do [ -f " + file.string() + " ] && break; sleep 0.1; done; ";
}

TEST(Interruption, AnInterruptedTrainingRunLeavesNoPartialFileAndResumes) {
  test::TempDir dir;
  const auto run = dir / "run";
  const std::string command = "-q train --data fashion-mnist --model-arch mlp --epochs 20 --train-size 6000 --test-size 500 "
                              "--out " + run.string();
  // Interrupt once the first epoch is on disk, long before the twentieth.
  const std::string shell = std::string(PRISM_BINARY) + " " + command + " & pid=$!; " + wait_for(run / "history.json") +
                            "kill -INT $pid; wait $pid";
  const int status = std::system(shell.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT) << "the run finished before the signal; give it more epochs";
  EXPECT_TRUE(temporaries_under(run).empty());
  EXPECT_FALSE(fs::exists(run / "model.prism"));  // written only when every epoch is done
  nlohmann::json before;
  if (fs::exists(run / "history.json")) {
    before = nlohmann::json::parse(test::read_bytes(run / "history.json"));  // complete, parseable
    EXPECT_GE(before["epochs"].size(), 1u);
  }

  const auto resumed = test::run_prism(command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(fs::exists(run / "model.prism"));
  const auto history = nlohmann::json::parse(test::read_bytes(run / "history.json"));
  EXPECT_EQ(history["epochs"].size(), 20u);
  // The epochs done before the signal were kept, not trained again (their records, timings included, are the same).
  if (!before.is_null())
    for (size_t e = 0; e < before["epochs"].size(); ++e) EXPECT_EQ(history["epochs"][e], before["epochs"][e]);
}

TEST(Interruption, TwoRunsWritingTheSameFolderAtOnceDoNotInterleave) {
  test::TempDir dir;
  const auto run = dir / "run";
  const std::string command = std::string(PRISM_BINARY) + " -q train --data fashion-mnist --model-arch mlp --epochs 20 " +
                              "--train-size 6000 --test-size 500 --out " + run.string();
  // The second run starts while the first holds the folder (its first epoch is on disk): it is refused, and the
  // first completes.
  const std::string shell = command + " & first=$!; " + wait_for(run / "history.json") + command + " 2> " +
                            (dir / "second.err").string() + "; second=$?; wait $first; first_status=$?; echo $first_status $second > " +
                            (dir / "status").string();
  ASSERT_EQ(std::system(shell.c_str()), 0);
  const auto status = test::read_bytes(dir / "status");
  EXPECT_EQ(std::string(status.begin(), status.end()), "0 1\n");
  const auto err = test::read_bytes(dir / "second.err");
  EXPECT_NE(std::string(err.begin(), err.end()).find("another prism command is writing"), std::string::npos);
  const auto history = nlohmann::json::parse(test::read_bytes(run / "history.json"));
  EXPECT_EQ(history["epochs"].size(), 20u);
  EXPECT_NO_THROW(load_network(run / "model.prism"));
}

TEST(Numerics, NanInImagesOrWeightsIsReportedWithWhereItCameFrom) {
  auto images = torch::rand({5, 1, 8, 8});
  images[3][0][2][2] = std::nanf("");
  try {
    make_dataset("constructed", images, torch::zeros({5}, torch::kInt64), {"a", "b"}, {});
    FAIL() << "a NaN image was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("image 3 contains NaN"), std::string::npos) << e.what();
  }

  test::TempDir dir;
  auto network = make_zoo_network({"cnn"});
  {
    torch::NoGradGuard no_grad;
    network->layer_parameters("fc1")->weight[0][0] = std::numeric_limits<float>::infinity();
  }
  save_network(*network, dir / "bad.prism");
  try {
    load_network(dir / "bad.prism");
    FAIL() << "infinite weights were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fc1"), std::string::npos) << e.what();
  }
  // On the command line: one line naming the file and the tensor.
  test::expect_clean_failure(test::run_prism("layers " + (dir / "bad.prism").string()), "NaN or infinite values in 'fc1");
}

}  // namespace
}  // namespace prism
