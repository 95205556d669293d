// Stop signals: SIGINT/SIGTERM ask a long run to stop cleanly between items instead of dying
// mid-write; a second signal gets the default action (the process ends at once).
// Layer: vision/core (depends on nothing). PyTorch counterpart: none (Python's KeyboardInterrupt
// between DataLoader batches plays this role).
//
// Loops over inputs call stop_requested() between items (or waves of items) and, when it is true,
// finish what they are writing and stop starting new work; the command then exits with
// 128 + stop_signal() (130 for SIGINT, 143 for SIGTERM), leaving only complete outputs.
#pragma once

namespace rv {

// Installs the handlers for SIGINT and SIGTERM (idempotent; call once from main).
void install_stop_handlers();

// True once SIGINT or SIGTERM arrived (or request_stop() was called). Async-signal-safe, cheap.
bool stop_requested() noexcept;

// The signal that asked to stop (SIGINT, SIGTERM), 0 when none did (or request_stop(0) did).
int stop_signal() noexcept;

// Asks to stop as a signal would (tests, and code that wants the same clean-stop path).
void request_stop(int signal_number = 0) noexcept;

// Clears the request (tests only: a real run never un-stops).
void clear_stop_request() noexcept;

}  // namespace rv
