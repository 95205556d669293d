// `rwkv-vision bench`: images/s, latency (median, p90), peak memory and where the time goes, for a
// model (zoo id, file, or a bare preset such as vrwkv_t with random weights) at given sizes.
// Layer: apps. PyTorch counterpart: none (benchmarks/e2e/compare.py runs PyTorch the same way).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "apps/commands.h"
#include "apps/model_flags.h"
#include "heads/classifier.h"
#include "vision/core/cpu_features.h"
#include "vision/core/error.h"
#include "vision/core/threading.h"

namespace rv::apps {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchFlags {
    ModelFlags model;
    EngineFlags engine;
    std::vector<std::string> sizes;
    int iters = 0;  // 0: adaptive (at least 5, until --min-time)
    int warmup = 2;
    double min_time = 2.0;
    std::string only = "all";
    bool json = false;
};

double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double percentile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<size_t>(pos);
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

void parse_size(const std::string& s, int64_t& h, int64_t& w) {
    static const std::regex re(R"(^(\d{1,5})(?:x(\d{1,5}))?$)");
    std::smatch m;
    RV_CHECK(std::regex_match(s, m, re), ErrorCode::kInvalidArgument, "bad --size '", s,
             "': use HxW (e.g. 224x224) or one number for a square");
    h = std::stoll(m[1]);
    w = m[2].matched ? std::stoll(m[2]) : h;
    RV_CHECK(h > 0 && w > 0, ErrorCode::kInvalidArgument, "bad --size '", s, "': sides must be positive");
}

heads::Classifier load_model(const std::string& name, const ModelFlags& flags, bool& random_weights) {
    for (const char* const* p = backbone::vrwkv_preset_names(); *p; ++p)
        if (name == *p) {
            random_weights = true;
            return heads::Classifier::random(backbone::vrwkv_preset(name));
        }
    random_weights = false;
    return heads::Classifier::load(name, flags.options());
}

struct Measured {
    std::vector<double> latencies_ms;  // per forward call (one batch)
    double wall_s = 0.0;
    int64_t images = 0;
    OpProfile profile;
    size_t workspace_bytes = 0;
};

// Runs forward passes (or the matmuls alone) until iters are done or min_time has passed.
void run_stream(const heads::Classifier& model, const Tensor& input, const BenchFlags& f, bool serial,
                Measured& m) {
    backbone::ForwardContext ctx;
    ctx.serial = serial;
    const bool matmul_only = f.only == "matmul";
    auto once = [&] {
        if (matmul_only)
            model.run_matmuls_only(ctx, input.shape());
        else
            (void)model.forward(ctx, input);
    };
    for (int i = 0; i < f.warmup; ++i) once();
    ctx.profile = &m.profile;
    const auto start = Clock::now();
    for (int i = 0;; ++i) {
        const bool enough =
            f.iters > 0 ? i >= f.iters
                        : i >= 5 && std::chrono::duration<double>(Clock::now() - start).count() >= f.min_time;
        if (enough) break;
        const auto t0 = Clock::now();
        once();
        m.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        m.images += input.dim(0);
    }
    m.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    m.workspace_bytes = ctx.ws.capacity();
}

int run(const BenchFlags& f, const GlobalOptions& g) {
    const int threads = set_num_threads(resolve_threads(g));
    bool random_weights = false;
    heads::Classifier model = load_model(f.model.model, f.model, random_weights);
    f.engine.prepare(model);
    const auto& cfg = model.description().config;
    std::vector<std::string> sizes = f.sizes;
    if (sizes.empty()) sizes.push_back(std::to_string(cfg.img_size));
    const heads::RunMode mode = heads::parse_run_mode(f.engine.mode) == heads::RunMode::kThroughput
                                    ? heads::RunMode::kThroughput
                                    : heads::RunMode::kLatency;  // one input shape: auto = latency
    for (const std::string& size : sizes) {
        int64_t H = 0, W = 0;
        parse_size(size, H, W);
        Tensor input({f.engine.batch, cfg.in_channels, H, W});
        for (int64_t i = 0; i < input.numel(); ++i)  // a smooth pattern: no denormals, no NaN
            input[i] = static_cast<float>((i * 7919) % 255) / 64.0f - 2.0f;
        Measured total;
        const auto t0 = Clock::now();
        if (mode == heads::RunMode::kThroughput) {
            // One stream per thread, each single-threaded, all at once.
            std::vector<Measured> per(static_cast<size_t>(threads));
            parallel_tasks(threads, [&](int64_t i) {
                const int previous = set_this_thread_onednn_threads(1);
                run_stream(model, input, f, true, per[static_cast<size_t>(i)]);
                set_this_thread_onednn_threads(previous);
            });
            for (const Measured& m : per) {
                total.latencies_ms.insert(total.latencies_ms.end(), m.latencies_ms.begin(),
                                          m.latencies_ms.end());
                total.images += m.images;
                for (size_t k = 0; k < total.profile.seconds.size(); ++k)
                    total.profile.seconds[k] += m.profile.seconds[k];
                total.workspace_bytes += m.workspace_bytes;
            }
            total.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
        } else {
            run_stream(model, input, f, false, total);
        }
        const double images_per_s = static_cast<double>(total.images) / total.wall_s;
        const int64_t p = cfg.patch_size;
        const int64_t tokens = ((H + p - 1) / p) * ((W + p - 1) / p);
        nlohmann::json share = nlohmann::json::object();
        const double prof_total = total.profile.total();
        for (size_t k = 0; k < total.profile.seconds.size(); ++k)
            share[kOpClassNames[k]] = prof_total > 0 ? total.profile.seconds[k] / prof_total : 0.0;
        const nlohmann::json row = {
            {"model", f.model.model},
            {"random_weights", random_weights},
            {"size", std::to_string(H) + "x" + std::to_string(W)},
            {"height", H},
            {"width", W},
            {"tokens", tokens},
            {"batch", f.engine.batch},
            {"threads", threads},
            {"mode", heads::run_mode_name(mode)},
            {"precision", ops::precision_name(model.precision())},
            {"only", f.only},
            {"isa", isa_name(active_isa())},
            {"iters", total.latencies_ms.size()},
            {"images_per_s", images_per_s},
            {"latency_ms",
             {{"median", percentile(total.latencies_ms, 0.5)},
              {"p90", percentile(total.latencies_ms, 0.9)},
              {"min", *std::min_element(total.latencies_ms.begin(), total.latencies_ms.end())}}},
            {"peak_rss_mb", peak_rss_mb()},
            {"workspace_mb", static_cast<double>(total.workspace_bytes) / (1 << 20)},
            {"op_share", share},
        };
        if (f.json) {
            std::cout << row.dump() << std::endl;
        } else {
            std::cout << std::fixed << std::setprecision(2) << f.model.model << " "
                      << row["size"].get<std::string>() << " batch " << f.engine.batch << " threads "
                      << threads << " " << row["precision"].get<std::string>() << " "
                      << row["mode"].get<std::string>() << (f.only == "matmul" ? " (matmuls only)" : "")
                      << ": " << images_per_s << " images/s, latency median "
                      << row["latency_ms"]["median"].get<double>() << " ms, p90 "
                      << row["latency_ms"]["p90"].get<double>() << " ms, peak RSS " << peak_rss_mb()
                      << " MiB\n  time:";
            for (size_t k = 0; k < total.profile.seconds.size(); ++k)
                std::cout << " " << kOpClassNames[k] << " " << std::setprecision(1)
                          << 100.0 * share[kOpClassNames[k]].get<double>() << "%";
            std::cout << std::setprecision(2) << "\n";
        }
    }
    return kExitOk;
}

}  // namespace

Runner add_bench(CLI::App& app, const GlobalOptions& global) {
    auto flags = std::make_shared<BenchFlags>();
    CLI::App* cmd = app.add_subcommand(
        "bench",
        "speed and memory of a model (a zoo id, a file, or a preset such as vrwkv_t with random weights)");
    flags->model.add_to(*cmd);
    flags->engine.add_to(*cmd);
    cmd->add_option("--size", flags->sizes,
                    "input size HxW (or one number); repeat for several (default: the model's)");
    cmd->add_option("--iters", flags->iters, "timed iterations (default: at least 5, until --min-time)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--warmup", flags->warmup, "untimed iterations first")->check(CLI::NonNegativeNumber);
    cmd->add_option("--min-time", flags->min_time, "seconds to time at least, when --iters is not given")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--only", flags->only, "all (the model) or matmul (its matmuls alone: the ceiling)")
        ->check(CLI::IsMember({"all", "matmul"}));
    cmd->add_flag("--json", flags->json, "one JSON object per configuration on stdout");
    return [flags, &global] { return run(*flags, global); };
}

}  // namespace rv::apps
