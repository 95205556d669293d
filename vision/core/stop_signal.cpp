// Stop signals (see stop_signal.h). The handler only stores to lock-free atomics and, on a
// second signal, restores the default action and re-raises: everything it calls is
// async-signal-safe (signal(2), raise(3)).
#include "vision/core/stop_signal.h"

#include <atomic>
#include <csignal>

namespace rv {

namespace {

std::atomic<int> g_stop_signal{0};  // which signal asked (0: request_stop without one)
std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free,
              "the signal handler needs lock-free atomics");

extern "C" void on_stop_signal(int sig) {
    if (g_stop_requested.exchange(true)) {
        // Second signal: the user means it. Default action (terminate) now.
        std::signal(sig, SIG_DFL);
        std::raise(sig);
        return;
    }
    g_stop_signal.store(sig);
}

}  // namespace

void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // reads and writes in progress resume; loops check the flag
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() noexcept { return g_stop_requested.load(std::memory_order_relaxed); }

int stop_signal() noexcept { return g_stop_signal.load(); }

void request_stop(int signal_number) noexcept {
    g_stop_signal.store(signal_number);
    g_stop_requested.store(true);
}

void clear_stop_request() noexcept {
    g_stop_requested.store(false);
    g_stop_signal.store(0);
}

}  // namespace rv
