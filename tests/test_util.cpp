#include "test_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace prism::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device device;
  path_ = fs::temp_directory_path() / ("prism-test-" + std::to_string(getpid()) + "-" + std::to_string(device()));
  fs::create_directories(path_);
}
TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const Dataset& fashion_test() {
  static const Dataset data = load_dataset("fashion-mnist", Split::Test);
  return data;
}
const Dataset& fashion_train() {
  static const Dataset data = load_dataset("fashion-mnist", Split::Train);
  return data;
}

std::string read_text(const std::filesystem::path& path) {
  const auto bytes = read_bytes(path);
  return {bytes.begin(), bytes.end()};
}

std::string error_of(const std::function<void()>& run) {
  try {
    run();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

CommandResult chromium(const std::filesystem::path& page, int width, const std::string& arguments) {
  const auto dir = page.parent_path();
  const std::string command = "timeout 120 chromium --headless=new --no-sandbox --disable-gpu --enable-logging=stderr "
                              "--v=0 --window-size=" + std::to_string(width) + ",900 " + arguments + " file://" +
                              page.string() + " > " + (dir / "chromium.out").string() + " 2> " +
                              (dir / "chromium.err").string();
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(dir / "chromium.out"), read_text(dir / "chromium.err")};
}

namespace {

CommandResult run_shell(const std::string& command_line) {
  TempDir capture;
  const auto out = capture / "out", err = capture / "err";
  const std::string command = command_line + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(command.c_str());
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace

CommandResult run_prism(const std::string& arguments) {
  return run_shell(std::string(PRISM_BINARY) + " --quiet " + arguments);
}

std::string mpirun(int ranks) {
  return std::string("mpirun --bind-to none --oversubscribe ") + (::getuid() == 0 ? "--allow-run-as-root " : "") +
         "-n " + std::to_string(ranks);
}

CommandResult run_prism_on_ranks(int ranks, const std::string& arguments) {
  return run_shell(mpirun(ranks) + " " + PRISM_BINARY + " --quiet " + arguments);
}

fs::path fixtures() { return PRISM_FIXTURES; }

void build_once(const std::string& suite, const fs::path& into, const std::function<void(const fs::path&)>& build) {
  const auto stamp = fs::last_write_time(PRISM_BINARY).time_since_epoch().count();
  const fs::path shared = fixtures() / ("suite-" + suite + "-" + std::to_string(stamp));
  const int lock = ::open((shared.string() + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(lock, 0) << "cannot create the lock of " << shared;
  ::flock(lock, LOCK_EX);
  if (!fs::exists(shared / ".complete")) {
    for (const auto& entry : fs::directory_iterator(fixtures()))  // folders of older binaries
      if (entry.path().filename().string().rfind("suite-" + suite + "-", 0) == 0 && entry.path() != shared &&
          entry.path().extension() != ".lock")
        fs::remove_all(entry.path());
    fs::remove_all(shared);
    fs::create_directories(shared);
    build(shared);
    if (!::testing::Test::HasFailure()) std::ofstream(shared / ".complete").put('\n');
  }
  ::flock(lock, LOCK_UN);
  ::close(lock);
  // A failed set-up ends the process: GoogleTest would report the suite's tests as skipped, and CTest count a
  // skip as no failure.
  if (!fs::exists(shared / ".complete")) {
    std::fprintf(stderr, "the %s suite's set-up failed\n", suite.c_str());
    std::exit(1);
  }
  fs::copy(shared, into, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

void expect_clean_failure(const CommandResult& result, const std::string& fragment) {
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find(fragment), std::string::npos) << "stderr: " << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << "stderr: " << result.err;
}

}  // namespace prism::test
