// The project's thread pool (TBB) and the one knob that sets it and oneDNN's OpenMP pool together.
// Layer: vision/core. PyTorch counterpart: torch.set_num_threads / at::parallel_for.
//
// TBB is included only in threading.cpp; callers see a plain function interface. parallel_for
// splits [begin, end) into chunks; each output element is computed by exactly one task, so results
// do not depend on the thread count.
#pragma once

#include <cstdint>
#include <functional>

namespace rv {

// Sets the number of worker threads for TBB and for oneDNN (OpenMP). n <= 0 means "all CPUs this
// process may use" (its affinity mask). Returns the number actually in force.
int set_num_threads(int n);
int num_threads();
int available_cpus();  // CPUs in this process's affinity mask

// Runs body(chunk_begin, chunk_end) over [begin, end) on the pool. grain: minimum chunk length.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body);

}  // namespace rv
