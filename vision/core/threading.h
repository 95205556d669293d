// The project's thread pool (TBB) and the one knob (--threads) that sets it and oneDNN's OpenMP.
// Layer: vision/core. PyTorch counterpart: torch.set_num_threads / at::parallel_for.
//
// TBB is included only in threading.cpp; callers see a plain function interface. parallel_for
// splits [begin, end) into chunks; each output element is computed by exactly one task, so results
// do not depend on the thread count.
#pragma once

#include <cstdint>
#include <functional>

namespace rv {

// Sets the number of worker threads of the TBB pool, and oneDNN's OpenMP to one thread: all our
// parallelism, matmuls included, is TBB tasks (each oneDNN call runs single-threaded inside one),
// so the two pools never spin against each other. n <= 0 means "all CPUs this process may use"
// (its affinity mask). Returns the number actually in force.
int set_num_threads(int n);
int num_threads();
int available_cpus();  // CPUs in this process's affinity mask

// Sets how many OpenMP threads oneDNN uses when called from THIS thread (an OpenMP per-thread
// setting). Throughput mode calls it with 1 inside each task, so oneDNN never spawns a team of
// its own inside a TBB worker.
// Returns the previous value.
int set_this_thread_onednn_threads(int n);

// Per-thread slots for scratch memory: every thread that can run a task of the pool has an index in
// [0, thread_slots()); current_thread_slot() is the calling thread's (0 outside the pool).
int thread_slots();
int current_thread_slot();

// Runs fn(i) for i in [0, n) as TBB tasks (throughput mode: one image or batch per task); blocks
// until all are done. Exceptions from fn propagate (the first one).
void parallel_tasks(int64_t n, const std::function<void(int64_t)>& fn);

// Runs body(chunk_begin, chunk_end) over [begin, end) on the pool. grain: minimum chunk length.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body);

}  // namespace rv
