// `rwkv-vision classify`: top-k classes for image files or folders, as text, CSV, JSON or JSONL.
// With --num-parts N --part-id K it runs one part of a sharded job and writes
// OUT/_parts/part-K-of-N.csv (apps/classify_parts.h); `rwkv-vision merge` joins the parts.
// Layer: apps. PyTorch counterpart: timm inference.py / mmcls image_demo.py.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "apps/classify_parts.h"
#include "apps/commands.h"
#include "apps/model_flags.h"
#include "apps/shard.h"
#include "heads/classifier.h"
#include "vision/core/error.h"
#include "vision/core/stop_signal.h"
#include "vision/core/threading.h"
#include "vision/metrics/classification_metrics.h"

namespace rv::apps {
namespace {

struct ClassifyFlags {
    ModelFlags model;
    EngineFlags engine;
    BatchFlags batch;
    std::string format = "text";
    std::string output_type = "prob";
    int topk = 5;
    int chunk = 256;
    const CLI::Option* format_option = nullptr;
};

// The options besides the inputs that decide the CSV rows: a finished part computed with other
// settings is redone. Threads, batch and mode are absent: results do not depend on them.
std::string settings_of(const ClassifyFlags& f) {
    std::ostringstream s;
    s << "model=" << f.model.model << ";config=" << f.model.load.config_path
      << ";labels=" << f.model.load.labels_path << ";input_size=" << f.model.input_size
      << ";crop_pct=" << f.model.crop_pct << ";no_resize=" << f.model.load.no_resize
      << ";key=" << f.model.load.wrapper_key << ";precision=" << f.engine.precision << ";topk=" << f.topk
      << ";output=" << f.output_type;
    return s.str();
}

heads::Classifier load_model(const ClassifyFlags& f, const GlobalOptions& g) {
    heads::Classifier model = heads::Classifier::load(f.model.model, f.model.options());
    f.engine.prepare(model);
    if (g.verbose) describe_model(model);
    if (!g.quiet)
        for (const auto& note : model.description().notes) std::cerr << "rwkv-vision: note: " << note << "\n";
    return model;
}

std::vector<metrics::Ranked> ranked(const heads::FileResult& r, const ClassifyFlags& f) {
    std::vector<double> scores;
    if (f.output_type == "logit")
        scores.assign(r.logits.begin(), r.logits.end());
    else
        scores = metrics::softmax(r.logits.data(), static_cast<int64_t>(r.logits.size()));
    return metrics::top_k(scores, f.topk);
}

int run_sharded(const ClassifyFlags& f, const GlobalOptions& g) {
    RV_CHECK(f.format_option == nullptr || f.format_option->count() == 0 || f.format == "csv",
             ErrorCode::kInvalidArgument, "--num-parts writes CSV part files; --format ", f.format,
             " is only available without it");
    ClassifyPart job;
    job.out_dir = f.batch.output;
    job.part = f.batch.part();
    size_t total = 0;
    job.items = collect_part(f.batch.input, job.part, {}, &total);
    RV_CHECK(total > 0, ErrorCode::kNotFound, "no image files under '", f.batch.input, "'");
    job.settings = settings_of(f);
    job.chunk = static_cast<size_t>(f.chunk);
    job.overwrite = f.batch.overwrite;
    job.quiet = g.quiet;
    std::optional<heads::Classifier> model;
    const auto compute = [&](const std::vector<std::string>& pending, const ItemCallback& done) {
        model.emplace(load_model(f, g));
        const auto& labels = model->labels();
        Progress progress(pending.size(), !g.quiet);
        heads::classify_files(*model, pending, f.engine.run_options(),
                              [&](size_t i, const heads::FileResult& r) {
                                  progress.step(pending[i]);
                                  if (!r.ok()) {
                                      std::cerr << "rwkv-vision: " << pending[i] << ": " << r.error << "\n";
                                      done(i, false, r.error);
                                  } else {
                                      done(i, true, csv_rows(pending[i], ranked(r, f), labels));
                                  }
                              });
        progress.finish();
    };
    return run_classify_part(job, compute);
}

int run(const ClassifyFlags& f, const GlobalOptions& g) {
    f.batch.validate();
    set_num_threads(resolve_threads(g));
    if (f.batch.sharded()) return run_sharded(f, g);
    heads::Classifier model = load_model(f, g);
    const std::vector<std::string> files = collect_images(f.batch.input);
    RV_CHECK(!files.empty(), ErrorCode::kNotFound, "no image files under '", f.batch.input, "'");

    std::ostringstream out;
    out << std::setprecision(6);
    nlohmann::json json_all = nlohmann::json::array();
    if (f.format == "csv") out << kClassifyCsvHeader;
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
            const std::vector<metrics::Ranked> top = ranked(r, f);
            if (f.format == "text") {
                out << file << "\n";
                for (size_t k = 0; k < top.size(); ++k)
                    out << "  " << (k + 1) << ". " << labels[static_cast<size_t>(top[k].index)] << " ("
                        << top[k].index << ") " << std::fixed << std::setprecision(4) << top[k].score
                        << std::defaultfloat << std::setprecision(6) << "\n";
            } else if (f.format == "csv") {
                out << csv_rows(file, top, labels);
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
    if (stop_requested()) {  // a signal: no partial results file (main reports 128 + signal)
        std::cerr << "rwkv-vision: stopped by a signal; no results written\n";
        return kExitSomeFailed;
    }
    if (f.format == "json")
        out << json_all.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    write_output(f.batch.output, out.str());
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
    flags->batch.output = "-";
    flags->batch.add_to(*cmd, "image file, folder or @list.txt",
                        "write results here (atomically) instead of stdout; with --num-parts: a folder",
                        /*output_required=*/false);
    flags->format_option = cmd->add_option("--format", flags->format, "text, csv, json or jsonl")
                               ->check(CLI::IsMember({"text", "csv", "json", "jsonl"}));
    cmd->add_option("--topk", flags->topk, "classes per image; 0 = all")->check(CLI::NonNegativeNumber);
    cmd->add_option("--output-type", flags->output_type, "prob (softmax) or logit")
        ->check(CLI::IsMember({"prob", "logit"}));
    cmd->add_option("--chunk", flags->chunk,
                    "with --num-parts: images per checkpoint file; a restarted part redoes at most one "
                    "unfinished chunk")
        ->check(CLI::Range(1, 1000000));
    return [flags, &global] { return run(*flags, global); };
}

}  // namespace rv::apps
