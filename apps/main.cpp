// rwkv-vision: one binary, subcommands classify, eval, convert, models, info, bench, merge.
// Layer: apps. Results go to stdout, diagnostics to stderr; exit statuses in app_common.h.
#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <utility>

#include "apps/app_common.h"
#include "apps/commands.h"
#include "vision/core/error.h"
#include "vision/core/limits.h"
#include "vision/core/stop_signal.h"

int main(int argc, char** argv) {
    using namespace rv::apps;
    CLI::App app{"rwkv-vision: Vision-RWKV models on the CPU"};
    app.set_version_flag("--version", std::string("rwkv-vision ") + RV_VERSION);
    app.require_subcommand(1);
    GlobalOptions global;
    app.add_option("--threads", global.threads, "worker threads (default: CPUs this process may use)")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("-q,--quiet", global.quiet, "no progress output");
    app.add_flag("-v,--verbose", global.verbose, "more diagnostics");
    // Resource limits (vision/core/limits.h; README "Limits"): flags win over RV_MAX_* variables.
    std::string max_pixels, max_tensor_bytes, max_tokens, max_activation_bytes;
    const auto add_limit_flags = [&](CLI::App* a) {
        a->add_option("--max-pixels", max_pixels, "largest image (width x height) to decode [2^28]");
        a->add_option("--max-tensor-bytes", max_tensor_bytes, "largest weight tensor, e.g. 4G [4G]");
        a->add_option("--max-tokens", max_tokens, "most patch tokens per image [2^20]");
        a->add_option("--max-activation-bytes", max_activation_bytes, "working memory per forward pass [8G]");
    };
    add_limit_flags(&app);
    std::map<std::string, Runner> runners = {
        {"classify", add_classify(app, global)}, {"eval", add_eval(app, global)},
        {"models", add_models(app, global)},     {"info", add_info(app, global)},
        {"convert", add_convert(app, global)},   {"bench", add_bench(app, global)},
        {"merge", add_merge(app, global)},       {"segment", add_segment(app, global)},
        {"restore", add_restore(app, global)},
    };
    // Subcommands accept the global flags too (`rwkv-vision classify --threads 2 ...`).
    std::function<void(CLI::App*)> add_global = [&](CLI::App* cmd) {
        for (CLI::App* sub : cmd->get_subcommands({})) {
            sub->add_option("--threads", global.threads, "worker threads")->check(CLI::NonNegativeNumber);
            sub->add_flag("-q,--quiet", global.quiet, "no progress output");
            sub->add_flag("-v,--verbose", global.verbose, "more diagnostics");
            add_limit_flags(sub);
            add_global(sub);
        }
    };
    add_global(&app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? kExitOk : kExitUsage;
    }
    try {
        rv::Limits limits = rv::limits();  // defaults + RV_MAX_* environment
        const std::pair<const std::string*, int64_t rv::Limits::*> flags[] = {
            {&max_pixels, &rv::Limits::max_pixels},
            {&max_tensor_bytes, &rv::Limits::max_tensor_bytes},
            {&max_tokens, &rv::Limits::max_tokens},
            {&max_activation_bytes, &rv::Limits::max_activation_bytes}};
        const char* names[] = {"--max-pixels", "--max-tensor-bytes", "--max-tokens",
                               "--max-activation-bytes"};
        for (size_t i = 0; i < 4; ++i) {
            if (!flags[i].first->empty())
                limits.*(flags[i].second) = rv::parse_limit(*flags[i].first, names[i]);
        }
        rv::set_limits(limits);
    } catch (const rv::Error& e) {
        std::cerr << "rwkv-vision: error: " << e.what() << "\n";
        return kExitUsage;
    }
    // SIGINT/SIGTERM stop long runs between items; the exit status then says which signal
    // (128 + signal, as a shell reports a signalled process), with only complete outputs left.
    rv::install_stop_handlers();
    for (CLI::App* sub : app.get_subcommands()) {
        const int rc = guarded(runners.at(sub->get_name()));
        return rv::stop_signal() != 0 ? 128 + rv::stop_signal() : rc;
    }
    return kExitUsage;
}
