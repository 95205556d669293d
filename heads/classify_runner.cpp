// Batched, threaded classification of many files. Layer: heads.
#include "heads/classify_runner.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include "vision/core/error.h"
#include "vision/core/stop_signal.h"
#include "vision/core/threading.h"
#include "vision/image/image.h"

namespace rv::heads {
namespace {

// Contexts are expensive to size (the workspace) and cheap to reuse: tasks borrow one each.
class ContextPool {
public:
    std::unique_ptr<backbone::ForwardContext> acquire() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (free_.empty()) return std::make_unique<backbone::ForwardContext>();
        auto ctx = std::move(free_.back());
        free_.pop_back();
        return ctx;
    }
    void release(std::unique_ptr<backbone::ForwardContext> ctx) {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back(std::move(ctx));
    }

private:
    std::mutex mutex_;
    std::vector<std::unique_ptr<backbone::ForwardContext>> free_;
};

// Loads, preprocesses and classifies files[begin, end) as batches of equal input shape.
void run_group(const Classifier& model, const std::vector<std::string>& files, size_t begin, size_t end,
               backbone::ForwardContext& ctx, FileResult* out) {
    // out[i - begin] is the result of files[i].
    std::vector<Tensor> inputs(end - begin);
    for (size_t i = begin; i < end; ++i) {
        try {
            inputs[i - begin] = model.preprocess(image::load_image(files[i], model.color_mode()));
        } catch (const std::exception& e) {  // rv::Error, or bad_alloc on a huge image: this file only
            out[i - begin].error = e.what();
        }
    }
    size_t i = begin;
    while (i < end) {
        if (!out[i - begin].ok()) {
            ++i;
            continue;
        }
        // The run of consecutive loaded files with this file's shape.
        const Shape shape = inputs[i - begin].shape();
        size_t j = i + 1;
        while (j < end && out[j - begin].ok() && inputs[j - begin].shape() == shape) ++j;
        Shape bshape = shape;
        bshape.insert(bshape.begin(), static_cast<int64_t>(j - i));
        try {
            Tensor batch(bshape);
            const int64_t n = shape_numel(shape);
            for (size_t k = i; k < j; ++k)
                std::copy(inputs[k - begin].data(), inputs[k - begin].data() + n,
                          batch.data() + static_cast<int64_t>(k - i) * n);
            const Tensor logits = model.forward(ctx, batch);
            const int64_t N = logits.dim(1);
            for (size_t k = i; k < j; ++k)
                out[k - begin].logits.assign(logits.data() + static_cast<int64_t>(k - i) * N,
                                             logits.data() + static_cast<int64_t>(k - i + 1) * N);
        } catch (const std::exception& e) {
            for (size_t k = i; k < j; ++k) out[k - begin].error = e.what();
        }
        i = j;
    }
}

}  // namespace

RunMode parse_run_mode(const std::string& name) {
    if (name == "auto") return RunMode::kAuto;
    if (name == "latency") return RunMode::kLatency;
    if (name == "throughput") return RunMode::kThroughput;
    RV_THROW(ErrorCode::kInvalidArgument, "unknown mode '", name, "': use auto, latency or throughput");
}

const char* run_mode_name(RunMode mode) {
    switch (mode) {
        case RunMode::kLatency:
            return "latency";
        case RunMode::kThroughput:
            return "throughput";
        default:
            return "auto";
    }
}

RunMode resolve_run_mode(RunMode mode, size_t files, int batch) {
    if (mode != RunMode::kAuto) return mode;
    const size_t batches =
        (files + static_cast<size_t>(std::max(1, batch)) - 1) / static_cast<size_t>(std::max(1, batch));
    return num_threads() > 1 && batches >= 2 * static_cast<size_t>(num_threads()) ? RunMode::kThroughput
                                                                                  : RunMode::kLatency;
}

void classify_files(const Classifier& model, const std::vector<std::string>& files, const RunOptions& options,
                    const std::function<void(size_t, const FileResult&)>& on_result) {
    RV_CHECK(options.batch >= 1, ErrorCode::kInvalidArgument, "--batch must be at least 1, got ",
             options.batch);
    const auto batch = static_cast<size_t>(options.batch);
    const RunMode mode = resolve_run_mode(options.mode, files.size(), options.batch);
    const auto threads = static_cast<size_t>(num_threads());
    // Files are processed in waves, so memory stays bounded and results stream out in order.
    const size_t groups_per_wave = mode == RunMode::kThroughput ? 4 * threads : 1;
    const size_t wave = groups_per_wave * batch;
    ContextPool pool;
    backbone::ForwardContext main_ctx;
    for (size_t w0 = 0; w0 < files.size(); w0 += wave) {
        // SIGINT/SIGTERM: stop between waves; every result already handed out is complete.
        if (stop_requested()) return;
        const size_t w1 = std::min(files.size(), w0 + wave);
        std::vector<FileResult> results(w1 - w0);
        const size_t groups = (w1 - w0 + batch - 1) / batch;
        if (mode == RunMode::kThroughput) {
            parallel_tasks(static_cast<int64_t>(groups), [&](int64_t g) {
                // This thread may be the caller's: give its OpenMP setting back afterwards.
                const int previous = set_this_thread_onednn_threads(1);
                auto ctx = pool.acquire();
                ctx->serial = true;
                const size_t b0 = w0 + static_cast<size_t>(g) * batch, b1 = std::min(w1, b0 + batch);
                run_group(model, files, b0, b1, *ctx, results.data() + (b0 - w0));
                pool.release(std::move(ctx));
                set_this_thread_onednn_threads(previous);
            });
        } else {
            for (size_t g = 0; g < groups; ++g) {
                const size_t b0 = w0 + g * batch, b1 = std::min(w1, b0 + batch);
                run_group(model, files, b0, b1, main_ctx, results.data() + (b0 - w0));
            }
        }
        for (size_t i = w0; i < w1; ++i) on_result(i, results[i - w0]);
    }
}

}  // namespace rv::heads
