// The TBB pool behind parallel_for / parallel_tasks: every index runs exactly once, exceptions
// come back to the caller, and thread slots are private to the thread holding them. Also the
// target of the TSan run (scripts/tsan.sh), so the bodies share memory the way kernels do.
#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "vision/core/threading.h"

namespace rv {
namespace {

class Threading : public ::testing::Test {
protected:
    void SetUp() override { saved_ = num_threads(); }
    void TearDown() override { set_num_threads(saved_); }
    int saved_ = 1;
};

TEST_F(Threading, ParallelForCoversEachIndexOnce) {
    for (const int threads : {1, 2, 4}) {
        set_num_threads(threads);
        std::vector<int> hits(10007, 0);
        parallel_for(0, static_cast<int64_t>(hits.size()), 16, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)] += 1;  // disjoint chunks
        });
        EXPECT_EQ(std::accumulate(hits.begin(), hits.end(), 0), static_cast<int>(hits.size()));
        for (const int h : hits) ASSERT_EQ(h, 1);
    }
}

TEST_F(Threading, ParallelTasksWriteDisjointResults) {
    set_num_threads(2);
    std::vector<int64_t> out(257, -1);
    parallel_tasks(static_cast<int64_t>(out.size()), [&](int64_t i) { out[static_cast<size_t>(i)] = i * i; });
    for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], static_cast<int64_t>(i * i));
}

TEST_F(Threading, ExceptionsReachTheCaller) {
    set_num_threads(2);
    std::atomic<int> ran{0};
    EXPECT_THROW(parallel_tasks(64,
                                [&](int64_t i) {
                                    ran.fetch_add(1);
                                    if (i == 17) throw std::runtime_error("task 17");
                                }),
                 std::runtime_error);
    EXPECT_GE(ran.load(), 1);
    // The pool still works afterwards.
    std::atomic<int64_t> sum{0};
    parallel_for(0, 100, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) sum.fetch_add(i);
    });
    EXPECT_EQ(sum.load(), 4950);
}

TEST_F(Threading, SlotsArePrivateWhileATaskRuns) {
    set_num_threads(2);
    const int slots = thread_slots();
    ASSERT_GE(slots, 1);
    // Each slot is a per-thread scratch buffer: a task writes its own slot only, with no lock; a
    // slot shared by two running threads would show up as a wrong sum (and as a race under TSan).
    std::vector<std::vector<int64_t>> scratch(static_cast<size_t>(slots), std::vector<int64_t>(64, 0));
    std::vector<int64_t> result(512, 0);
    parallel_tasks(static_cast<int64_t>(result.size()), [&](int64_t t) {
        const int s = current_thread_slot();
        ASSERT_GE(s, 0);
        ASSERT_LT(s, slots);
        auto& buf = scratch[static_cast<size_t>(s)];
        for (size_t k = 0; k < buf.size(); ++k) buf[k] = t + static_cast<int64_t>(k);
        result[static_cast<size_t>(t)] = std::accumulate(buf.begin(), buf.end(), int64_t{0});
    });
    for (size_t t = 0; t < result.size(); ++t) ASSERT_EQ(result[t], static_cast<int64_t>(64 * t + 2016));
}

}  // namespace
}  // namespace rv
