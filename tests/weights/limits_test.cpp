// Resource limits in the weight readers: a view or an inflated entry larger than
// limits().max_tensor_bytes is refused before allocating; non-finite weights fail take().
#include "vision/core/limits.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "tests/weights/weights_test_util.h"

namespace rv::weights {
namespace {

using test::wt::Bytes;
using test::wt::float_storage;
using test::wt::one_tensor_pickle;
using test::wt::open_code;
using test::wt::torch_zip;

// Restores the process-wide limits when a test ends.
class WeightLimits : public ::testing::Test {
protected:
    void TearDown() override { set_limits(saved_); }
    Limits saved_ = limits();
};

TEST_F(WeightLimits, StrideZeroViewOfHugeShapeIsALimitNotAnAllocation) {
    // One float viewed as [2^20, 2^12] through stride 0: 16 GiB if materialised.
    std::string msg;
    const Bytes pth =
        torch_zip(one_tensor_pickle("0", 1, 0, {1 << 20, 1 << 12}, {0, 0}), {{"0", float_storage(1)}});
    EXPECT_EQ(open_code(pth, "view.pth", &msg), static_cast<int>(ErrorCode::kLimit)) << msg;
    EXPECT_NE(msg.find("view.pth"), std::string::npos) << msg;
    EXPECT_NE(msg.find("RV_MAX_TENSOR_BYTES"), std::string::npos) << msg;
}

TEST_F(WeightLimits, SmallViewStillMaterialises) {
    const Bytes pth = torch_zip(one_tensor_pickle("0", 1, 0, {2, 3}, {0, 0}), {{"0", float_storage(1)}});
    EXPECT_EQ(open_code(pth), -1);
}

TEST_F(WeightLimits, LoweredLimitAppliesToConversion) {
    Limits l = saved_;
    l.max_tensor_bytes = 16;  // 4 floats
    set_limits(l);
    auto store = WeightStore::from_bytes(
        torch_zip(one_tensor_pickle("0", 6, 0, {2, 3}, {3, 1}), {{"0", float_storage(6)}}), "small.pth");
    try {
        (void)store.get("w");
        ADD_FAILURE() << "a 24-byte tensor passed a 16-byte limit";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kLimit);
        EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
    }
}

TEST_F(WeightLimits, NonFiniteWeightsFailTakeNamingTheKey) {
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()}) {
        Bytes storage = float_storage(6);
        std::memcpy(storage.data() + 4 * 4, &bad, 4);
        auto store = WeightStore::from_bytes(
            torch_zip(one_tensor_pickle("0", 6, 0, {2, 3}, {3, 1}), {{"0", storage}}), "nan.pth");
        EXPECT_TRUE(std::isnan(store.get("w").data()[4]) || std::isinf(store.get("w").data()[4]));
        try {
            (void)store.take("w");
            ADD_FAILURE() << "take() accepted " << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kCorruptFile);
            const std::string m = e.what();
            EXPECT_NE(m.find("nan.pth"), std::string::npos) << m;
            EXPECT_NE(m.find("'w'"), std::string::npos) << m;
            EXPECT_NE(m.find("flat index 4"), std::string::npos) << m;
        }
    }
}

TEST(WeightFiles, FifoIsRefusedWithoutBlocking) {
    const std::string fifo = "/tmp/rv_weights_fifo_" + std::to_string(::getpid()) + ".pth";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    try {
        (void)WeightStore::open(fifo);  // before the fix: open(2) waited for a writer forever
        ADD_FAILURE() << "a FIFO was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
        EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
    ::unlink(fifo.c_str());
}

}  // namespace
}  // namespace rv::weights
