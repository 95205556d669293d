// Runs a classifier over many image files: loading, preprocessing and forward passes grouped into
// batches and spread over the threads in one of two modes. Layer: heads.
// PyTorch counterpart: a DataLoader(num_workers) + model(batch) loop (timm inference.py).
//
//   latency:    one batch at a time; oneDNN's threads inside each matmul and our kernels split
//               over the pool. Best for one image or few.
//   throughput: many batches at once, one per TBB task, each running single-threaded (oneDNN with
//               one OpenMP thread in that task, our kernels serial). Best for folders.
//   auto:       throughput when there are at least two batches per thread, else latency.
// Results come back in input order, whatever the mode and thread count, and are identical.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "heads/classifier.h"

namespace rv::heads {

enum class RunMode { kAuto, kLatency, kThroughput };
RunMode parse_run_mode(const std::string& name);  // "auto" | "latency" | "throughput"
const char* run_mode_name(RunMode mode);

struct RunOptions {
    int batch = 1;  // images per forward pass (consecutive files of the same input shape)
    RunMode mode = RunMode::kAuto;
};

// What happened to one file: logits [num_classes] or the error message.
struct FileResult {
    std::vector<float> logits;
    std::string error;  // empty on success
    bool ok() const { return error.empty(); }
};

// Calls on_result(index, result) for every file, in input order, as results become available.
// A file that fails (unreadable, wrong size, ...) gets its error; the others still run.
// When rv::stop_requested() (SIGINT/SIGTERM, vision/core/stop_signal.h) it returns early between
// waves of files: on_result has then been called for a prefix of `files` only, each complete.
void classify_files(const Classifier& model, const std::vector<std::string>& files, const RunOptions& options,
                    const std::function<void(size_t, const FileResult&)>& on_result);

// The mode `auto` resolves to for this many files.
RunMode resolve_run_mode(RunMode mode, size_t files, int batch);

}  // namespace rv::heads
