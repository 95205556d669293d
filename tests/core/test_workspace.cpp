// Workspace arena: alignment, stack discipline, the plan's rounding, and that running out is
// reported (a sizing bug must not become a buffer overrun).
#include <gtest/gtest.h>

#include <cstdint>

#include "vision/core/error.h"
#include "vision/core/workspace.h"

namespace rv::test {
namespace {

TEST(Workspace, AlignedTakesRewindAndPlan) {
    WorkspacePlan plan;
    plan.floats(3).floats(100).bytes(1);
    EXPECT_EQ(plan.total(), 64u + 448u + 64u);
    Workspace ws;
    ws.reserve(plan.total());
    EXPECT_GE(ws.capacity(), plan.total());
    float* a = ws.take(int64_t{3});
    float* b = ws.take(int64_t{100});
    void* c = ws.take_bytes(1);
    for (const void* p :
         {static_cast<const void*>(a), static_cast<const void*>(b), static_cast<const void*>(c)})
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Workspace::kAlign, 0u);
    EXPECT_EQ(ws.used(), plan.total());
    EXPECT_THROW(ws.take_bytes(1), Error);  // over the plan: an internal error, not an overrun
    ws.rewind(0);
    {
        Workspace::Scope scope(ws);
        EXPECT_EQ(ws.take(int64_t{3}), a);
    }
    EXPECT_EQ(ws.used(), 0u);
    EXPECT_EQ(ws.high_water(), plan.total());
}

TEST(Workspace, ReserveKeepsABigEnoughBuffer) {
    Workspace ws;
    ws.reserve(1000);
    const size_t cap = ws.capacity();
    ws.reserve(10);
    EXPECT_EQ(ws.capacity(), cap);
    ws.reserve(cap * 4);
    EXPECT_GE(ws.capacity(), cap * 4);
}

}  // namespace
}  // namespace rv::test
