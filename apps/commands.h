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

}  // namespace rv::apps
