#include "prism/core/ranks.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "prism/core/error.h"

#ifdef PRISM_WITH_MPI
#define OMPI_SKIP_MPICXX 1   // the C API only: the deprecated C++ bindings would need their own library
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace prism::ranks {

#ifdef PRISM_WITH_MPI

namespace {

bool g_started = false, g_joined = false;
int g_rank = 0, g_count = 1, g_local_count = 1;

// Open MPI's and MPICH's launchers (mpirun, mpiexec, srun with PMI) name the rank in the environment.
bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

void check(int status, const char* call) {
  if (status != MPI_SUCCESS) throw Error(std::string("MPI: ") + call + " failed; see mpirun's message above");
}

// MPI counts are ints: one message holds at most 2 GiB.
int message_bytes(int64_t bytes) {
  require(bytes <= std::numeric_limits<int>::max(),
          "a message between MPI ranks would exceed 2 GiB; use more ranks or smaller batches");
  return static_cast<int>(bytes);
}

}  // namespace

void start(int& argc, char**& argv) {
  if (!launched_by_mpirun()) return;
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  g_started = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_count);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &g_local_count);
  MPI_Comm_free(&node);
}

void stop() {
  if (g_started) MPI_Finalize();
  g_started = false;
}

void abort(int exit_code) {
  if (g_started && g_count > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

int world_rank() { return g_rank; }
int world_count() { return g_count; }
void join() { g_joined = true; }
void leave() { g_joined = false; }
int rank() { return g_joined ? g_rank : 0; }
int count() { return g_joined ? g_count : 1; }
int local_count() { return g_local_count; }

void barrier() {
  if (count() > 1) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

std::string broadcast(const std::string& text) {
  if (count() == 1) return text;
  int64_t size = static_cast<int64_t>(text.size());
  check(MPI_Bcast(&size, 1, MPI_INT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  std::string out = rank() == 0 ? text : std::string(size, '\0');
  check(MPI_Bcast(out.data(), message_bytes(size), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
  return out;
}

torch::Tensor all_gather(const torch::Tensor& tensor) {
  const auto local = tensor.contiguous().cpu();
  if (count() == 1) return local.unsqueeze(0);
  std::vector<int64_t> shape = {g_count};
  shape.insert(shape.end(), local.sizes().begin(), local.sizes().end());
  auto out = torch::empty(shape, local.options());
  const int bytes = message_bytes(local.numel() * static_cast<int64_t>(local.element_size()));
  check(MPI_Allgather(local.data_ptr(), bytes, MPI_BYTE, out.data_ptr(), bytes, MPI_BYTE, MPI_COMM_WORLD),
        "MPI_Allgather");
  return out;
}

torch::Tensor all_gather_rows(const torch::Tensor& rows) {
  if (count() == 1) return rows;
  const auto local = rows.contiguous().cpu();
  int64_t row_bytes = local.element_size();
  for (int64_t d = 1; d < local.dim(); ++d) row_bytes *= local.size(d);
  const auto counts = all_gather(torch::tensor({local.size(0)}, torch::kInt64));  // [R, 1]
  std::vector<int> bytes(g_count), offsets(g_count);
  int64_t total_rows = 0;
  for (int r = 0; r < g_count; ++r) {
    const int64_t n = counts[r][0].item<int64_t>();
    offsets[r] = message_bytes(total_rows * row_bytes);
    bytes[r] = message_bytes(n * row_bytes);
    total_rows += n;
  }
  std::vector<int64_t> shape(local.sizes().begin(), local.sizes().end());
  shape[0] = total_rows;
  auto out = torch::empty(shape, local.options());
  check(MPI_Allgatherv(local.data_ptr(), bytes[g_rank], MPI_BYTE, out.data_ptr(), bytes.data(), offsets.data(),
                       MPI_BYTE, MPI_COMM_WORLD),
        "MPI_Allgatherv");
  return out.to(rows.device());
}

#else  // one rank: built without MPI

void start(int&, char**&) {}
void stop() {}
void abort(int exit_code) { std::exit(exit_code); }
int world_rank() { return 0; }
int world_count() { return 1; }
void join() {}
void leave() {}
int rank() { return 0; }
int count() { return 1; }
int local_count() { return 1; }
void barrier() {}
std::string broadcast(const std::string& text) { return text; }
torch::Tensor all_gather(const torch::Tensor& tensor) { return tensor.contiguous().cpu().unsqueeze(0); }
torch::Tensor all_gather_rows(const torch::Tensor& rows) { return rows; }

#endif

Range share_of(int64_t items, int64_t block, int rank, int ranks) {
  require(block >= 1 && items >= 0 && ranks >= 1 && rank >= 0 && rank < ranks, "internal: an invalid share");
  const int64_t blocks = (items + block - 1) / block;
  const int64_t base = blocks / ranks, extra = blocks % ranks;
  const int64_t first = rank * base + std::min<int64_t>(rank, extra);
  const int64_t mine = base + (rank < extra ? 1 : 0);
  return {std::min(items, first * block), std::min(items, (first + mine) * block)};
}

Range share(int64_t items, int64_t block) { return share_of(items, block, rank(), count()); }

void deal_out(int64_t jobs, const std::function<void(int64_t)>& job) {
  const int first = rank(), step = count();
  if (step > 1) leave();
  for (int64_t i = first; i < jobs; i += step) job(i);
  if (step > 1) join();
  barrier();
}

}  // namespace prism::ranks
