// prism: explain the predictions of neural-network classifiers and measure the explanations.
#include <c10/util/Exception.h>

#include <cstdio>

#include "commands.h"
#include "prism/core/warnings.h"

int main(int argc, char** argv) {
  CLI::App app{"prism — explanations of neural-network classifiers, and how good they are"};
  app.require_subcommand(1);
  app.fallthrough();  // --quiet and --threads after the subcommand too (subcommands inherit this)
  prism::route_libtorch_warnings();
  int threads = prism::available_cores();
  bool quiet = false;
  app.add_option("--threads", threads, "threads for tensor operations (default: all cores)")->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "print no progress");
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
    prism::set_threads(threads);
    prism::set_quiet(quiet);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "prism: error: %s (see prism --help)\n", e.what());
    return 2;
  } catch (const prism::Error& e) {
    std::fprintf(stderr, "prism: error: %s\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "prism: error in LibTorch: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prism: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
