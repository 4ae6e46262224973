// prism: explain the predictions of neural-network classifiers and measure the explanations.
#include <c10/util/Exception.h>

#include <cstdio>
#include <optional>
#include <set>

#include "commands.h"
#include "prism/core/allocator.h"
#include "prism/core/ranks.h"
#include "prism/core/warnings.h"

namespace {

// The commands that split their work over the ranks of an MPI run (docs/scale.md); under mpirun every other
// command runs on rank 0 alone, with the same outputs, while the other ranks wait.
const std::set<std::string> kSplitOverRanks = {"examples fit", "examples explain", "influence fit",
                                               "influence explain", "evaluate roar",
                                               "evaluate data-attribution"};

// Thrown on a rank that has no part in the command.
struct NotOnThisRank {};

std::string command_path(const CLI::App& app) {
  std::string path;
  for (const CLI::App* command = &app; !command->get_subcommands().empty();) {
    command = command->get_subcommands().front();
    path += (path.empty() ? "" : " ") + command->get_name();
  }
  return path;
}

// The message, with the rank that failed where there are several.
void print_error(const char* what, const char* prefix = "prism: error: ") {
  if (prism::ranks::world_count() > 1)
    std::fprintf(stderr, "%s%s (rank %d of %d)\n", prefix, what, prism::ranks::world_rank(),
                 prism::ranks::world_count());
  else
    std::fprintf(stderr, "%s%s\n", prefix, what);
}

}  // namespace

int main(int argc, char** argv) {
  prism::keep_freed_memory();
  prism::ranks::start(argc, argv);
  const int ranks = prism::ranks::world_count();
  const bool root = prism::ranks::world_rank() == 0;
  if (!root) std::freopen("/dev/null", "w", stdout);  // rank 0 prints the results
  CLI::App app{"prism — explanations of neural-network classifiers, and how good they are"};
  app.require_subcommand(1);
  app.fallthrough();  // --quiet and --threads after the subcommand too (subcommands inherit this)
  prism::route_libtorch_warnings();
  int threads = prism::available_cores();
  bool quiet = false;
  app.add_option("--threads", threads, "threads for tensor operations (default: all cores; under mpirun, the ranks on "
                                       "one machine share them)")->capture_default_str();
  int blas_threads = 1;
  app.add_option("--blas-threads", blas_threads,
                 "threads of OpenBLAS's own pool (default 1: more spin against the tensor threads on the same cores)")
      ->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "print no progress");
  std::string precision = "fp32";
  app.add_option("--precision", precision,
                 "number format of the forward-only passes (predictions, embeddings, penultimate features, perturbation "
                 "curves): fp32, or bf16 (faster on CPUs with bf16 instructions, ~1e-2 relative error); a fit records "
                 "it and its explanations use the fit's")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  std::optional<prism::PrecisionScope> precision_scope;
  prism::cli::add_train(app);
  prism::cli::add_predict(app);
  prism::cli::add_layers(app);
  prism::cli::add_attribute(app);
  prism::cli::add_examples(app);
  prism::cli::add_influence(app);
  prism::cli::add_evaluate(app);
  prism::cli::add_report(app);
  prism::cli::add_flint(app);
  prism::cli::add_concepts(app);
  prism::cli::add_demo(app);
  prism::remove_temporaries_on_interrupt();
  app.parse_complete_callback([&] {
    const bool split = kSplitOverRanks.count(command_path(app)) > 0;
    if (!split && !root) throw NotOnThisRank{};
    if (split) prism::ranks::join();
    // Ranks that split a command on one machine share its cores (unless --threads says otherwise).
    if (split && app.count("--threads") == 0) threads = std::max(1, threads / prism::ranks::local_count());
    prism::set_threads(threads);
    prism::set_blas_threads(blas_threads);
    prism::set_quiet(quiet || !root);
    precision_scope.emplace(prism::parse_precision(precision));
    if (precision == "bf16" && !prism::cpu_has_bf16() && root)
      std::fprintf(stderr, "prism: warning: this CPU has no bf16 instructions, so bf16 passes run slower than fp32 "
                           "ones; leave out --precision bf16\n");
  });
  // A failing rank ends the whole run (the others would wait for it forever), before any output is complete: each
  // file is written whole or not at all, and rank 0 writes the record of a fit last.
  int status = 0;
  try {
    app.parse(argc, argv);
  } catch (const NotOnThisRank&) {
  } catch (const CLI::CallForHelp& e) {
    status = app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    status = app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (root) print_error((std::string(e.what()) + " (see prism --help)").c_str());
    status = 2;
  } catch (const prism::Error& e) {
    print_error(e.what());
    status = 1;
  } catch (const c10::Error& e) {
    print_error(e.what_without_backtrace(), "prism: error in LibTorch: ");
    status = 1;
  } catch (const std::exception& e) {
    print_error(e.what());
    status = 1;
  }
  if (status != 0 && ranks > 1) prism::ranks::abort(status);
  prism::ranks::stop();
  return status;
}
