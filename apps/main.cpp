// rwkv-vision: one binary, subcommands classify, eval, convert, models, info, bench, merge.
// Layer: apps. Results go to stdout, diagnostics to stderr; exit statuses in app_common.h.
#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <map>

#include "apps/app_common.h"
#include "apps/commands.h"

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
    for (CLI::App* sub : app.get_subcommands()) return guarded(runners.at(sub->get_name()));
    return kExitUsage;
}
