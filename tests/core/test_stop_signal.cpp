// Stop signals: the first SIGINT/SIGTERM sets the flag, the second ends the process.
#include <gtest/gtest.h>

#include <csignal>

#include "vision/core/stop_signal.h"

namespace rv {
namespace {

class StopSignal : public ::testing::Test {
protected:
    void SetUp() override { clear_stop_request(); }
    void TearDown() override {
        clear_stop_request();
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
    }
};

TEST_F(StopSignal, NothingRequestedAtFirst) {
    EXPECT_FALSE(stop_requested());
    EXPECT_EQ(stop_signal(), 0);
}

TEST_F(StopSignal, FirstSigintOnlySetsTheFlag) {
    install_stop_handlers();
    std::raise(SIGINT);  // handled synchronously on this thread
    EXPECT_TRUE(stop_requested());
    EXPECT_EQ(stop_signal(), SIGINT);
}

TEST_F(StopSignal, SigtermIsRecorded) {
    install_stop_handlers();
    std::raise(SIGTERM);
    EXPECT_TRUE(stop_requested());
    EXPECT_EQ(stop_signal(), SIGTERM);
}

TEST_F(StopSignal, RequestStopWithoutASignal) {
    request_stop();
    EXPECT_TRUE(stop_requested());
    EXPECT_EQ(stop_signal(), 0);
    clear_stop_request();
    EXPECT_FALSE(stop_requested());
}

TEST_F(StopSignal, SecondSignalTakesTheDefaultAction) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            install_stop_handlers();
            std::raise(SIGTERM);  // first: flag only, the process goes on
            if (!stop_requested()) std::_Exit(3);
            std::raise(SIGTERM);  // second: default action, the process ends by SIGTERM
            std::_Exit(4);
        },
        ::testing::KilledBySignal(SIGTERM), "");
}

}  // namespace
}  // namespace rv
