// `rwkv-vision classify`: top-k classes for image files or folders, as text, CSV, JSON or JSONL.
// Layer: apps. PyTorch counterpart: timm inference.py / mmcls image_demo.py.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/commands.h"
#include "apps/model_flags.h"
#include "heads/classifier.h"
#include "vision/core/error.h"
#include "vision/core/threading.h"
#include "vision/metrics/classification_metrics.h"

namespace rv::apps {
namespace {

struct ClassifyFlags {
    ModelFlags model;
    EngineFlags engine;
    std::string input;
    std::string output = "-";
    std::string format = "text";
    std::string output_type = "prob";
    int topk = 5;
};

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

int run(const ClassifyFlags& f, const GlobalOptions& g) {
    set_num_threads(g.threads);
    heads::Classifier model = heads::Classifier::load(f.model.model, f.model.options());
    f.engine.prepare(model);
    if (g.verbose) describe_model(model);
    if (!g.quiet)
        for (const auto& note : model.description().notes) std::cerr << "rwkv-vision: note: " << note << "\n";
    const std::vector<std::string> files = collect_images(f.input);
    RV_CHECK(!files.empty(), ErrorCode::kNotFound, "no image files under '", f.input, "'");
    const bool logits_out = f.output_type == "logit";

    std::ostringstream out;
    out << std::setprecision(6);
    nlohmann::json json_all = nlohmann::json::array();
    if (f.format == "csv") out << "filename,index,label,score\n";
    int failed = 0;
    Progress progress(files.size(), !g.quiet);
    const auto& labels = model.labels();
    heads::classify_files(
        model, files, f.engine.run_options(), [&](size_t index, const heads::FileResult& r) {
            const std::string& file = files[index];
            progress.step(file);
            if (!r.ok()) {
                ++failed;
                std::cerr << "rwkv-vision: " << file << ": " << r.error << "\n";
                return;
            }
            std::vector<double> scores;
            if (logits_out)
                scores.assign(r.logits.begin(), r.logits.end());
            else
                scores = metrics::softmax(r.logits.data(), static_cast<int64_t>(r.logits.size()));
            const std::vector<metrics::Ranked> top = metrics::top_k(scores, f.topk);
            if (f.format == "text") {
                out << file << "\n";
                for (size_t k = 0; k < top.size(); ++k)
                    out << "  " << (k + 1) << ". " << labels[static_cast<size_t>(top[k].index)] << " ("
                        << top[k].index << ") " << std::fixed << std::setprecision(4) << top[k].score
                        << std::defaultfloat << std::setprecision(6) << "\n";
            } else if (f.format == "csv") {
                for (const auto& t : top)
                    out << csv_field(file) << "," << t.index << ","
                        << csv_field(labels[static_cast<size_t>(t.index)]) << "," << t.score << "\n";
            } else {
                nlohmann::json entry = {{"filename", file}, {"topk", nlohmann::json::array()}};
                for (const auto& t : top)
                    entry["topk"].push_back({{"index", t.index},
                                             {"label", labels[static_cast<size_t>(t.index)]},
                                             {"score", t.score}});
                if (f.format == "jsonl")
                    out << entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
                else
                    json_all.push_back(std::move(entry));
            }
        });
    progress.finish();
    if (f.format == "json")
        out << json_all.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    write_output(f.output, out.str());
    if (failed) {
        std::cerr << "rwkv-vision: " << failed << " of " << files.size() << " inputs failed\n";
        return kExitSomeFailed;
    }
    return kExitOk;
}

}  // namespace

Runner add_classify(CLI::App& app, const GlobalOptions& global) {
    auto flags = std::make_shared<ClassifyFlags>();
    CLI::App* cmd = app.add_subcommand("classify", "top-k classes of images (files or folders, recursive)");
    flags->model.add_to(*cmd);
    flags->engine.add_to(*cmd);
    cmd->add_option("-i,--input", flags->input, "image file or folder")->required();
    cmd->add_option("-o,--output", flags->output, "write results here (atomically) instead of stdout");
    cmd->add_option("--format", flags->format, "text, csv, json or jsonl")
        ->check(CLI::IsMember({"text", "csv", "json", "jsonl"}));
    cmd->add_option("--topk", flags->topk, "classes per image; 0 = all")->check(CLI::NonNegativeNumber);
    cmd->add_option("--output-type", flags->output_type, "prob (softmax) or logit")
        ->check(CLI::IsMember({"prob", "logit"}));
    return [flags, &global] { return run(*flags, global); };
}

}  // namespace rv::apps
