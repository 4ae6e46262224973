// The ranks of an MPI run (issue 20). `mpirun -n R prism COMMAND ...` starts R processes of the same command; the
// commands that split their work (see docs/scale.md) give each rank a share of the training or test samples, in
// whole batches so that every batch is the one a single process computes, and rank 0 merges and writes. Started
// without mpirun, or built without MPI (-DPRISM_MPI=OFF), there is one rank and every call here returns at once.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

namespace prism::ranks {

// Initialises MPI when mpirun started this process (its environment says so); the CLI calls it first.
void start(int& argc, char**& argv);
// Ends MPI at a normal exit (every rank calls it; it waits for the others).
void stop();
// Ends every rank of the run with `exit_code` at once: mpirun stops the others instead of leaving them waiting.
[[noreturn]] void abort(int exit_code);

// The processes mpirun started, and this one's place among them.
int world_rank();
int world_count();
// Called by the commands that split their work (the CLI, for them alone): from then on rank() and count() are the
// world's. Until then every process works as if alone (count() 1, rank() 0), so that a command that does not split
// runs on rank 0 as one process would while the other ranks wait.
void join();
// Rank 0 goes on alone (after the split part of a command, before writing); the other ranks return.
void leave();
int rank();
int count();
inline bool is_root() { return rank() == 0; }
// Ranks on this machine (for the thread count: the cores are shared among them).
int local_count();

// Waits until every rank arrives.
void barrier();

// This rank's rows [begin, end) of `items`, cut in whole blocks of `block` rows: ranks get consecutive runs of
// blocks, the first ranks one block more where they do not divide evenly.
struct Range {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
Range share(int64_t items, int64_t block = 1);
// The same for any rank of `ranks`.
Range share_of(int64_t items, int64_t block, int rank, int ranks);

// Runs the `jobs` independent jobs (retrainings, fits) dealt out in turn: rank r runs jobs r, r + R, ..., each as
// if alone (a pass inside a job does not split), then waits for every rank, so that all the jobs' outputs exist.
void deal_out(int64_t jobs, const std::function<void(int64_t job)>& job);

// Rank 0's text, at every rank.
std::string broadcast(const std::string& text);
// Every rank's tensor (the same shape and type at each, contiguous on the CPU), stacked in rank order: [R, ...].
torch::Tensor all_gather(const torch::Tensor& tensor);
// Every rank's rows (the same trailing shape and type at each, any number of rows), concatenated in rank order, on
// the rows' device (`rows` itself where there is one rank).
torch::Tensor all_gather_rows(const torch::Tensor& rows);

}  // namespace prism::ranks
