// Registration of the subcommands of `rwkv-vision`. Each adds itself to the CLI11 app and
// returns the function that runs it once parsing is done. Layer: apps. PyTorch counterpart: none.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "apps/app_common.h"

namespace rv::apps {

using Runner = std::function<int()>;

Runner add_classify(CLI::App& app, const GlobalOptions& global);
Runner add_eval(CLI::App& app, const GlobalOptions& global);
Runner add_models(CLI::App& app, const GlobalOptions& global);
Runner add_info(CLI::App& app, const GlobalOptions& global);
Runner add_convert(CLI::App& app, const GlobalOptions& global);
Runner add_bench(CLI::App& app, const GlobalOptions& global);
Runner add_restore(CLI::App& app, const GlobalOptions& global);  // apps/cmd_restore.cpp

// An `eval` subcommand defined in its own file (cmd_eval_<name>.cpp): its CLI11 node and runner.
// cmd_eval.cpp lists them, one line each.
struct EvalSubcommand {
    CLI::App* app;
    Runner run;
};
EvalSubcommand add_eval_restore(CLI::App& eval, const GlobalOptions& global);
EvalSubcommand add_eval_seg(CLI::App& eval, const GlobalOptions& global);  // apps/cmd_eval_seg.cpp
Runner add_segment(CLI::App& app, const GlobalOptions& global);            // apps/cmd_segment.cpp
Runner add_merge(CLI::App& app, const GlobalOptions& global);  // apps/cmd_merge.cpp (sharded runs)

}  // namespace rv::apps
