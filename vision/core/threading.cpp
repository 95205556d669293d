// TBB pool and OpenMP thread count. Layer: vision/core.
#include "vision/core/threading.h"

#include <omp.h>
#include <sched.h>
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace rv {
namespace {
std::mutex g_mutex;
std::unique_ptr<tbb::global_control> g_control;
int g_threads = 0;
}  // namespace

int available_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
    return 1;
}

int set_num_threads(int n) {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (n <= 0) n = available_cpus();
    g_control.reset();
    g_control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                      static_cast<size_t>(n));
    // oneDNN runs single-threaded inside our tasks (backbone/parallel_kernels.h says why); its
    // OpenMP pool is never used, so it can never spin against TBB.
    omp_set_num_threads(1);
    g_threads = n;
    return n;
}

int num_threads() {
    std::lock_guard<std::mutex> lock(g_mutex);
    return g_threads > 0 ? g_threads : available_cpus();
}

int set_this_thread_onednn_threads(int n) {
    const int previous = omp_get_max_threads();
    omp_set_num_threads(std::max(1, n));
    return previous;
}

int thread_slots() { return std::max(1, tbb::this_task_arena::max_concurrency()); }

int current_thread_slot() {
    const int i = tbb::this_task_arena::current_thread_index();
    return i >= 0 ? i : 0;
}

void parallel_tasks(int64_t n, const std::function<void(int64_t)>& fn) {
    if (n <= 0) return;
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, 1), [&](const tbb::blocked_range<int64_t>& r) {
        for (int64_t i = r.begin(); i < r.end(); ++i) fn(i);
    });
}

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body) {
    if (end <= begin) return;
    grain = std::max<int64_t>(1, grain);
    if (end - begin <= grain) {
        body(begin, end);
        return;
    }
    tbb::parallel_for(tbb::blocked_range<int64_t>(begin, end, static_cast<size_t>(grain)),
                      [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); });
}

}  // namespace rv
