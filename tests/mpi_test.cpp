// `mpirun -n R prism ...` (issue 20): the commands that split over ranks give one process's outputs, a rank that
// dies ends the run without leaving a fit behind, and the ranks' shares tile the samples in whole batches.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "prism/core/ranks.h"
#include "test_util.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

bool mpi_ready() { return PRISM_MPI_BUILD && std::system("command -v mpirun > /dev/null 2>&1") == 0; }

class Mpi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!mpi_ready()) return;
    test::build_once("mpi", dir_ = fs::temp_directory_path() / ("prism-mpi-" + std::to_string(::getpid())),
                     [](const fs::path& d) {
                       ASSERT_EQ(test::run_prism("train --data fashion-mnist --train-size 3000 --test-size 500 "
                                                 "--epochs 1 --out " + (d / "run").string()).exit_code, 0);
                     });
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  void SetUp() override {
    if (!mpi_ready()) GTEST_SKIP() << "prism was built without MPI (-DPRISM_MPI=OFF) or mpirun is missing";
  }
  static std::string model() { return (dir_ / "run" / "model.prism").string(); }
  static fs::path dir_;
  test::TempDir out_;
};
fs::path Mpi::dir_;

TEST(RankShares, TileTheItemsInWholeBlocksInRankOrder) {
  for (int64_t items : {0, 1, 255, 256, 257, 2900, 60000})
    for (int ranks : {1, 2, 3, 4, 7}) {
      int64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const auto share = ranks::share_of(items, 256, r, ranks);
        EXPECT_EQ(share.begin, next) << items << " items, rank " << r << " of " << ranks;
        EXPECT_TRUE(share.begin % 256 == 0 || share.begin == items);
        EXPECT_LE(share.size(), 256 * ((items + 255) / 256 / ranks + 1));
        next = share.end;
      }
      EXPECT_EQ(next, items);
    }
  // One rank (any test process) holds everything.
  EXPECT_EQ(ranks::share(1000, 256).begin, 0);
  EXPECT_EQ(ranks::share(1000, 256).end, 1000);
}

TEST_F(Mpi, EbeDnnFitAndExplainOverRanksGiveTheResultsOfOneProcess) {
  const std::string train = " --train fashion-mnist --train-size 2900 --model " + model();
  const auto single = test::run_prism("examples fit" + train + " --out " + (out_ / "one").string());
  ASSERT_EQ(single.exit_code, 0);
  const auto fit = test::run_prism_on_ranks(2, "examples fit" + train + " --out " + (out_ / "two").string());
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  // Each rank embeds whole batches of 256 (12 batches, the last partial) into the same file: the same bytes.
  EXPECT_EQ(test::read_bytes(out_ / "one" / "embeddings.npy"), test::read_bytes(out_ / "two" / "embeddings.npy"));
  EXPECT_EQ(test::read_bytes(out_ / "one" / "labels.npy"), test::read_bytes(out_ / "two" / "labels.npy"));
  EXPECT_TRUE(fs::exists(out_ / "two" / "fit.json"));
  for (const auto& entry : fs::directory_iterator(out_ / "two"))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  // What is printed is rank 0's, the lines one process prints.
  EXPECT_EQ(std::count(fit.out.begin(), fit.out.end(), '\n'), std::count(single.out.begin(), single.out.end(), '\n'))
      << fit.out;

  // Explaining over 3 ranks, each searching a third of the rows (uneven: 2900 = 967 + 967 + 966): the same
  // neighbours; the distances agree to float tolerance (FAISS's blocked products |q|² + |x|² - 2 q·x run over other
  // row counts).
  for (const std::string weights : {"uniform", "distance"}) {
    const std::string explain = "examples explain --fit " + (out_ / "one").string() +
                                " --data fashion-mnist --indices 0:40 --k 10 --weights " + weights + " --out ";
    ASSERT_EQ(test::run_prism(explain + (out_ / ("e1-" + weights)).string()).exit_code, 0);
    const auto over_ranks = test::run_prism_on_ranks(3, explain + (out_ / ("e3-" + weights)).string());
    ASSERT_EQ(over_ranks.exit_code, 0) << over_ranks.err;
    const auto by_one = out_ / ("e1-" + weights), by_three = out_ / ("e3-" + weights);
    EXPECT_TRUE(read_npy(by_one / "indices.npy").equal(read_npy(by_three / "indices.npy")));
    for (const char* name : {"distances.npy", "weights.npy"}) {
      const auto one = read_npy(by_one / name), three = read_npy(by_three / name);
      EXPECT_TRUE(torch::allclose(one, three, 1e-4, 1e-4)) << name << " " << (one - three).abs().max().item<float>();
    }
  }
}

TEST_F(Mpi, DualViewFitAndExplainOverRanksGiveTheResultsOfOneProcess) {
  // The feature pass splits over the ranks in whole batches; every rank solves the same SVM on all the features.
  const std::string fit = "influence fit --model " + model() + " --train fashion-mnist --train-size 2000 --out ";
  ASSERT_EQ(test::run_prism(fit + (out_ / "one").string()).exit_code, 0);
  const auto over_ranks = test::run_prism_on_ranks(2, fit + (out_ / "two").string());
  ASSERT_EQ(over_ranks.exit_code, 0) << over_ranks.err;
  int arrays = 0;
  for (const auto& entry : fs::directory_iterator(out_ / "one"))
    if (entry.path().extension() == ".npy") {
      EXPECT_EQ(test::read_bytes(entry.path()), test::read_bytes(out_ / "two" / entry.path().filename()))
          << entry.path().filename();
      ++arrays;
    }
  EXPECT_GE(arrays, 3);
  const std::string explain = "influence explain --data fashion-mnist --indices 0:20 --top 5 --dense --fit ";
  ASSERT_EQ(test::run_prism(explain + (out_ / "one").string() + " --out " + (out_ / "e1").string()).exit_code, 0);
  const auto explained = test::run_prism_on_ranks(
      2, explain + (out_ / "two").string() + " --out " + (out_ / "e2").string());
  ASSERT_EQ(explained.exit_code, 0) << explained.err;
  for (const char* name : {"attributions.npy", "proponents.npy", "opponents.npy", "proponent_values.npy"})
    EXPECT_EQ(test::read_bytes(out_ / "e1" / name), test::read_bytes(out_ / "e2" / name)) << name;
}

TEST_F(Mpi, GradientMethodsSplitTheirPerExampleGradientsOverRanksAsOneProcess) {
  // Gradient similarity's per-example gradients (sketched) split in whole chunks, for the fit's training samples and
  // the explained test points.
  const std::string fit = "influence fit --method gradient-similarity --model " + model() +
                          " --train fashion-mnist --train-size 600 --out ";
  ASSERT_EQ(test::run_prism(fit + (out_ / "one").string()).exit_code, 0);
  const auto over_ranks = test::run_prism_on_ranks(2, fit + (out_ / "two").string());
  ASSERT_EQ(over_ranks.exit_code, 0) << over_ranks.err;
  for (const char* name : {"gradients.npy", "self_influence.npy"})
    EXPECT_EQ(test::read_bytes(out_ / "one" / name), test::read_bytes(out_ / "two" / name)) << name;
  const std::string explain = "influence explain --data fashion-mnist --indices 0:30 --top 5 --dense --fit ";
  ASSERT_EQ(test::run_prism(explain + (out_ / "one").string() + " --out " + (out_ / "e1").string()).exit_code, 0);
  const auto explained =
      test::run_prism_on_ranks(2, explain + (out_ / "two").string() + " --out " + (out_ / "e2").string());
  ASSERT_EQ(explained.exit_code, 0) << explained.err;
  EXPECT_EQ(test::read_bytes(out_ / "e1" / "attributions.npy"), test::read_bytes(out_ / "e2" / "attributions.npy"));
  // A method that does not split (EBE-DNN's data attribution: examples fit splits instead) runs on rank 0 alone.
  const auto alone = test::run_prism_on_ranks(2, "influence fit --method ebe-dnn --model " + model() +
                                                     " --train fashion-mnist --train-size 300 --out " +
                                                     (out_ / "alone").string());
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_TRUE(fs::exists(out_ / "alone" / "fit.json"));
}

TEST_F(Mpi, RoarOverRanksGivesTheResultsOfOneProcessAndARerunRetrainsOnlyWhatIsMissing) {
  // One ROAR fraction: the maps split over the ranks in whole batches, the three retrainings (unmodified, saliency,
  // the random control) are dealt out in turn.
  const std::string roar = "evaluate roar --model " + model() + " --data fashion-mnist --train-size 1000 "
                           "--test-size 300 --methods saliency --fractions 50 --modes roar --epochs 1 --out ";
  ASSERT_EQ(test::run_prism(roar + (out_ / "one").string()).exit_code, 0);
  const auto over_ranks = test::run_prism_on_ranks(2, roar + (out_ / "two").string());
  ASSERT_EQ(over_ranks.exit_code, 0) << over_ranks.err;
  for (const char* map : {"saliency-train.npy", "saliency-test.npy", "random-train.npy", "random-test.npy"})
    EXPECT_EQ(test::read_bytes(out_ / "one" / "cache" / "maps" / map),
              test::read_bytes(out_ / "two" / "cache" / "maps" / map)) << map;
  const auto runs = [&](const std::string& name) {
    return nlohmann::json::parse(test::read_bytes(out_ / name / "roar.json")).at("runs");
  };
  const auto single = runs("one"), split = runs("two");
  ASSERT_EQ(single.size(), 3u);
  ASSERT_EQ(split.size(), single.size());
  for (size_t i = 0; i < single.size(); ++i) {
    EXPECT_EQ(split[i].at("method"), single[i].at("method"));
    EXPECT_EQ(split[i].at("accuracy").get<double>(), single[i].at("accuracy").get<double>()) << split[i];
  }
  // A retraining lost (as when a run is stopped): the rerun over the ranks trains it alone and reads the others.
  fs::remove(out_ / "two" / "cache" / "runs" / "roar-saliency-50-s0.json");
  const auto rerun = test::run_prism_on_ranks(2, roar + (out_ / "two").string());
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  const auto resumed = runs("two");
  for (size_t i = 0; i < resumed.size(); ++i) {
    EXPECT_EQ(resumed[i].at("cached").get<bool>(), resumed[i].at("method") != "saliency") << resumed[i];
    EXPECT_EQ(resumed[i].at("accuracy").get<double>(), single[i].at("accuracy").get<double>()) << resumed[i];
  }
}

TEST_F(Mpi, DataAttributionEvaluationDealsOutTrainingsAndFitsAndScoresAsOneProcess) {
  // Five models (plain, three LDS halves, flipped labels) and four fits dealt out over two ranks; rank 0 scores.
  const std::string evaluation = "evaluate data-attribution --data fashion-mnist --train-size 400 --test-size 50 "
                                 "--methods dualview,similarity --metrics identical-class,lds,mislabel "
                                 "--lds-subsets 3 --epochs 1 --out ";
  ASSERT_EQ(test::run_prism(evaluation + (out_ / "one").string()).exit_code, 0);
  const auto over_ranks = test::run_prism_on_ranks(2, evaluation + (out_ / "two").string());
  ASSERT_EQ(over_ranks.exit_code, 0) << over_ranks.err;
  const auto scores = [&](const std::string& name) {
    const auto json = nlohmann::json::parse(test::read_bytes(out_ / name / "data-attribution.json"));
    return std::make_pair(json.at("metrics"), json.at("mislabel_curves"));
  };
  const auto [single, single_curves] = scores("one");
  const auto [split, split_curves] = scores("two");
  EXPECT_EQ(split, single);
  EXPECT_EQ(split_curves, single_curves);
  for (const char* model : {"plain", "lds-0", "lds-1", "lds-2", "flipped"})
    EXPECT_TRUE(fs::exists(out_ / "two" / "cache" / "models" / model / "model.prism")) << model;
}

TEST_F(Mpi, CommandsThatDoNotSplitRunOnRankZeroAlone) {
  const auto run = test::run_prism_on_ranks(2, "predict --model " + model() + " --data fashion-mnist --test-size 200 "
                                               "--out " + (out_ / "predict").string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto single = test::run_prism("predict --model " + model() + " --data fashion-mnist --test-size 200 --out " +
                                      (out_ / "predict-one").string());
  ASSERT_EQ(single.exit_code, 0);
  EXPECT_EQ(run.out, single.out);
}

TEST_F(Mpi, BadInputFailsOnEveryRankWithOneClearLine) {
  const auto run = test::run_prism_on_ranks(2, "examples fit --model " + model() + " --train fashion-mnist "
                                               "--train-size 500 --metric nope --out " + (out_ / "bad").string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("unknown metric 'nope'"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(out_ / "bad" / "fit.json"));
}

// Finds the process of `rank` running a command that mentions `marker`; 0 when there is none (yet).
pid_t rank_process(int rank, const std::string& marker) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline(entry.path() / "cmdline"), environ(entry.path() / "environ");
    const std::string command((std::istreambuf_iterator<char>(cmdline)), {});
    const std::string environment((std::istreambuf_iterator<char>(environ)), {});
    if (command.find(marker) != std::string::npos && command.rfind(PRISM_BINARY, 0) == 0 &&
        environment.find("OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0') != std::string::npos)
      return std::stoi(name);
  }
  return 0;
}

TEST_F(Mpi, ARankThatDiesEndsTheRunAndLeavesNoFitAndARerunFinishes) {
  const auto dir = out_ / "killed";
  const std::string fit = std::string(PRISM_BINARY) + " --quiet examples fit --model " + model() +
                          " --train fashion-mnist --out " + dir.string();
  const pid_t launcher = ::fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    const std::string command = test::mpirun(2) + " " + fit + " > /dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Rank 1 is killed while the ranks embed the 60,000 training images.
  pid_t victim = 0;
  for (int tries = 0; tries < 600 && !victim; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    victim = rank_process(1, dir.string());
  }
  ASSERT_GT(victim, 0) << "rank 1 never started";
  // Killed once the embeddings' temporary file exists (a fixed delay killed it still loading on a busy machine, or
  // after the fit on a fast one).
  const auto embedding = [&] {
    std::error_code missing;
    for (const auto& entry : fs::directory_iterator(dir, missing))
      if (entry.path().filename().string().find(".tmp.") != std::string::npos) return true;
    return false;
  };
  for (int tries = 0; tries < 3000 && !embedding(); ++tries) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(victim, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(launcher, &status, 0), launcher);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << "the run should fail";
  // Nothing half-written: no record, no embeddings, no temporary file.
  EXPECT_FALSE(fs::exists(dir / "fit.json"));
  EXPECT_FALSE(fs::exists(dir / "embeddings.npy"));
  ASSERT_TRUE(fs::exists(dir)) << "killed before the fit began";
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  // A rerun on fewer images completes the fit in the same folder.
  const auto rerun = test::run_prism_on_ranks(2, "examples fit --model " + model() + " --train fashion-mnist "
                                                 "--train-size 1000 --out " + dir.string());
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(read_npy(dir / "embeddings.npy").size(0), 1000);
}

}  // namespace
}  // namespace prism
