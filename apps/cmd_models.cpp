// `rwkv-vision models`: the zoo — id, task, where its weights are, description. Layer: apps.
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "apps/commands.h"
#include "heads/classifier.h"
#include "heads/zoo.h"
#include "vision/core/error.h"

namespace rv::apps {

Runner add_models(CLI::App& app, const GlobalOptions&) {
    CLI::App* cmd = app.add_subcommand("models", "list the model zoo");
    (void)cmd;
    return [] {
        std::ostringstream out;
        out << std::left << std::setw(24) << "id" << std::setw(16) << "task" << std::setw(12) << "weights"
            << "description\n";
        for (const auto& e : heads::zoo_entries()) {
            std::string where;
            try {
                const std::string p = heads::resolve_weights_path(e.id);
                where = !std::filesystem::exists(p) ? "missing"
                        : e.bundled_file.empty()    ? "found"
                                                    : "bundled";
            } catch (const Error&) {
                where = "not here";
            }
            out << std::setw(24) << e.id << std::setw(16) << e.task << std::setw(12) << where << e.description
                << "\n";
        }
        out << "\nOfficial checkpoints are used by path (-m FILE.pth) or found by id in "
               "$RWKV_VISION_MODELS.\n";
        write_output("-", out.str());
        return kExitOk;
    };
}

}  // namespace rv::apps
