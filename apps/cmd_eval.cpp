// `rwkv-vision eval cls`: accuracy of a classifier on an ImageFolder tree (one sub-folder per
// class): top-1, top-5, per-class accuracy and the confusion matrix, as text and JSON.
// Layer: apps. PyTorch counterpart: mmcls tools/test.py with metric accuracy (topk 1, 5).
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/commands.h"
#include "apps/model_flags.h"
#include "heads/classifier.h"
#include "vision/core/error.h"
#include "vision/core/stop_signal.h"
#include "vision/core/threading.h"
#include "vision/metrics/classification_metrics.h"

namespace rv::apps {
namespace {
namespace fs = std::filesystem;

struct EvalFlags {
    ModelFlags model;
    EngineFlags engine;
    std::string input;
    std::string output;  // JSON report file
    std::string format = "text";
};

std::string folder_safe(const std::string& label) {
    std::string s = label;
    std::replace(s.begin(), s.end(), '/', '_');
    std::replace(s.begin(), s.end(), '\\', '_');
    return s;
}

// Maps a class folder name to a label index: the label itself, the label with '/' replaced by
// '_', or the index written as a number.
int64_t folder_to_class(const std::string& folder, const std::vector<std::string>& labels) {
    int64_t found = -1;
    for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i] == folder || folder_safe(labels[i]) == folder) {
            RV_CHECK(found < 0, ErrorCode::kInvalidArgument, "class folder '", folder,
                     "' matches two labels (", found, " and ", i,
                     "); name the folder by the class index instead");
            found = static_cast<int64_t>(i);
        }
    if (found >= 0) return found;
    auto digit = [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; };
    // "<index>" or "<index>_<anything>" (folders that sort in class order, e.g. 0_tshirt_top).
    const std::string number = folder.substr(0, folder.find('_'));
    if (!number.empty() && std::all_of(number.begin(), number.end(), digit) && number.size() < 9) {
        const long v = std::stol(number);
        if (v >= 0 && static_cast<size_t>(v) < labels.size()) return v;
    }
    return -1;
}

int run(const EvalFlags& f, const GlobalOptions& g) {
    set_num_threads(resolve_threads(g));
    heads::Classifier model = heads::Classifier::load(f.model.model, f.model.options());
    f.engine.prepare(model);
    if (g.verbose) describe_model(model);
    if (!g.quiet)
        for (const auto& note : model.description().notes) std::cerr << "rwkv-vision: note: " << note << "\n";
    const auto& labels = model.labels();
    const auto N = static_cast<size_t>(model.num_classes());
    RV_CHECK(fs::is_directory(f.input), ErrorCode::kNotFound, "'", f.input,
             "' is not a folder (eval cls wants one sub-folder per class)");
    std::vector<std::pair<std::string, int64_t>> items;
    std::vector<std::string> class_dirs;
    for (const auto& d : fs::directory_iterator(f.input))
        if (d.is_directory()) class_dirs.push_back(d.path().filename().string());
    std::sort(class_dirs.begin(), class_dirs.end());
    for (const auto& dir : class_dirs) {
        const int64_t cls = folder_to_class(dir, labels);
        RV_CHECK(cls >= 0, ErrorCode::kInvalidArgument, "class folder '", dir,
                 "' matches no label of the model (folders are named by label, by label with '/' as '_', or "
                 "by index)");
        for (const auto& file : collect_images((fs::path(f.input) / dir).string()))
            items.emplace_back(file, cls);
    }
    RV_CHECK(!items.empty(), ErrorCode::kNotFound, "no images in class folders under '", f.input, "'");

    metrics::AccuracyCounter acc(static_cast<int64_t>(N));
    int64_t failed = 0;
    Progress progress(items.size(), !g.quiet);
    std::vector<std::string> files;
    for (const auto& item : items) files.push_back(item.first);
    heads::classify_files(model, files, f.engine.run_options(),
                          [&](size_t index, const heads::FileResult& r) {
                              progress.step(files[index]);
                              if (r.ok()) {
                                  acc.add(r.logits.data(), items[index].second);
                              } else {
                                  ++failed;
                                  std::cerr << "rwkv-vision: " << files[index] << ": " << r.error << "\n";
                              }
                          });
    progress.finish();
    // Interrupted (SIGINT/SIGTERM): accuracy over a prefix would pass for the real figure; report none.
    if (stop_requested()) {
        std::cerr << "rwkv-vision: eval stopped by a signal after " << acc.count() + failed << " of "
                  << files.size() << " images; no report written\n";
        return kExitSomeFailed;
    }
    const int64_t done = acc.count();
    if (done == 0) {
        std::cerr << "rwkv-vision: every image failed; no accuracy to report\n";
        return kExitSomeFailed;
    }
    const auto& confusion = acc.confusion();

    nlohmann::json report = {{"model", model.description().id},
                             {"weights", model.weights_path()},
                             {"images", done},
                             {"failed", failed},
                             {"top1", acc.top1()},
                             {"top5", acc.top5()},
                             {"per_class", nlohmann::json::array()},
                             {"labels", labels},
                             {"confusion", confusion}};
    std::ostringstream text;
    text << std::fixed << std::setprecision(2);
    text << "model " << model.description().id << " on " << f.input << ": " << done << " images";
    if (failed) text << " (" << failed << " failed)";
    text << "\ntop-1 " << 100.0 * acc.top1() << " %   top-5 " << 100.0 * acc.top5() << " %\n\nper class:\n";
    for (size_t c = 0; c < N; ++c) {
        const int64_t total = acc.class_count(static_cast<int64_t>(c));
        if (!total) continue;
        const double a = acc.class_accuracy(static_cast<int64_t>(c));
        report["per_class"].push_back(
            {{"index", c}, {"label", labels[c]}, {"images", total}, {"accuracy", a}});
        text << "  " << std::setw(5) << c << "  " << std::left << std::setw(24) << labels[c] << std::right
             << std::setw(7) << 100.0 * a << " %  (" << total << ")\n";
    }
    if (N > 20) text << "\n(confusion matrix of " << N << " classes: in the JSON report, -o FILE)\n";
    if (N <= 20) {
        text << "\nconfusion (rows: truth, columns: predicted):\n";
        for (size_t r = 0; r < N; ++r) {
            text << "  " << std::setw(3) << r;
            for (size_t c = 0; c < N; ++c) text << std::setw(6) << confusion[r][c];
            text << "\n";
        }
    }
    if (f.format == "json")
        write_output("-", report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    else
        write_output("-", text.str());
    if (!f.output.empty())
        write_output(f.output, report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    return failed ? kExitSomeFailed : kExitOk;
}

}  // namespace

Runner add_eval(CLI::App& app, const GlobalOptions& global) {
    auto flags = std::make_shared<EvalFlags>();
    CLI::App* eval = app.add_subcommand("eval", "evaluate a model on labelled data");
    eval->require_subcommand(1);
    CLI::App* cls = eval->add_subcommand("cls", "classification accuracy on an ImageFolder tree");
    flags->model.add_to(*cls);
    flags->engine.add_to(*cls);
    cls->add_option("-i,--input", flags->input, "folder with one sub-folder of images per class")->required();
    cls->add_option("-o,--output", flags->output, "also write the JSON report to this file");
    cls->add_option("--format", flags->format, "text or json (stdout)")
        ->check(CLI::IsMember({"text", "json"}));
    const std::vector<EvalSubcommand> more = {
        add_eval_restore(*eval, global),
        add_eval_seg(*eval, global),
    };
    return [flags, &global, cls, more] {
        if (cls->parsed()) return run(*flags, global);
        for (const auto& sub : more)
            if (sub.app->parsed()) return sub.run();
        return kExitUsage;
    };
}

}  // namespace rv::apps
