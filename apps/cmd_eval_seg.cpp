// `rwkv-vision eval seg --pred DIR --ref DIR`: Dice and HD95 per case and label, means per label
// and overall, as text, CSV and a summary.json shaped like nnU-Net's.
// Layer: apps (files and output only; the metrics are vision/metrics/seg_metrics.h).
// PyTorch counterpart: RWKV-UNet test.py inference() (per-class mean Dice / HD95 over cases,
// calculate_metric_percase) and nnU-Net's compute_metrics_on_folder (summary.json).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "apps/commands.h"
#include "vision/core/error.h"
#include "vision/image/medical_volume.h"
#include "vision/metrics/seg_metrics.h"

namespace rv::apps {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

struct EvalSegFlags {
    std::string pred, ref, output, labels, empty_policy = "transunet", hd95_units = "mm";
};

struct CaseResult {
    std::string id, pred_file, ref_file;
    std::map<int, metrics::LabelCounts> counts;  // labels present in pred or ref
};

std::vector<int> parse_labels(const std::string& s) {
    std::vector<int> out;
    std::stringstream in(s);
    std::string tok;
    while (std::getline(in, tok, ',')) {
        RV_CHECK(!tok.empty() && tok.find_first_not_of("0123456789") == std::string::npos,
                 ErrorCode::kInvalidArgument, "--labels '", s,
                 "': give label numbers separated by commas, e.g. 1,2,3");
        const int v = std::stoi(tok);
        RV_CHECK(v >= 1 && v <= 255, ErrorCode::kInvalidArgument, "--labels: label ", v, " is not in 1..255");
        out.push_back(v);
    }
    RV_CHECK(!out.empty(), ErrorCode::kInvalidArgument, "--labels is empty");
    return out;
}

std::vector<uint8_t> to_labels(const image::Volume& v) {
    std::vector<uint8_t> out(v.voxels.size());
    for (size_t i = 0; i < v.voxels.size(); ++i) {
        const float x = v.voxels[i];
        RV_CHECK(x >= 0.0f && x <= 255.0f && x == std::floor(x), ErrorCode::kInvalidArgument, "'",
                 v.source.path, "' is not a label map: voxel ", i, " is ", x,
                 " (labels are integers 0..255)");
        out[i] = static_cast<uint8_t>(x);
    }
    return out;
}

std::string volume_id(const std::string& path) {
    const std::string name = fs::path(path).filename().string();
    return name.substr(0, name.size() - image::volume_extension(path).size());
}

CaseResult evaluate_case(const std::string& pred_file, const std::string& ref_file, bool voxel_units) {
    CaseResult r;
    r.pred_file = pred_file;
    r.ref_file = ref_file;
    const image::Volume ref = image::read_volume(ref_file);
    const image::Volume pred = image::read_volume(pred_file);
    const auto& gr = ref.geometry;
    const auto& gp = pred.geometry;
    RV_CHECK(gr.size == gp.size, ErrorCode::kShapeMismatch, "'", pred_file, "' has size ", gp.size[0], "x",
             gp.size[1], "x", gp.size[2], ", the reference '", ref_file, "' ", gr.size[0], "x", gr.size[1],
             "x", gr.size[2]);
    for (size_t a = 0; a < 3; ++a)
        RV_CHECK(std::fabs(gr.spacing[a] - gp.spacing[a]) <= 1e-3 * std::max(1.0, gr.spacing[a]),
                 ErrorCode::kShapeMismatch, "'", pred_file, "' has spacing ", gp.spacing[a], " along axis ",
                 a, ", the reference ", gr.spacing[a], "; they are not on one grid");
    const auto p = to_labels(pred), t = to_labels(ref);
    std::set<int> present;
    for (uint8_t x : p) present.insert(x);
    for (uint8_t x : t) present.insert(x);
    present.erase(0);
    const metrics::Spacing3 spacing = voxel_units ? metrics::Spacing3{1, 1, 1} : gr.spacing;
    for (int label : present)
        r.counts[label] = metrics::label_counts(p.data(), t.data(), label, gr.size, spacing);
    return r;
}

json number(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

// Mean over the non-NaN values (nnU-Net's nanmean; the TransUNet rule produces no NaN).
double nanmean(const std::vector<double>& v) {
    double s = 0;
    int n = 0;
    for (double x : v)
        if (!std::isnan(x)) s += x, ++n;
    return n ? s / n : std::nan("");
}

int run(const EvalSegFlags& f, const GlobalOptions& g) {
    const metrics::EmptyPolicy policy = metrics::parse_empty_policy(f.empty_policy);
    const bool voxel_units = f.hd95_units == "voxel";
    for (const auto* dir : {&f.pred, &f.ref})
        RV_CHECK(fs::is_directory(*dir), ErrorCode::kNotFound, "'", *dir, "' is not a folder");
    std::vector<std::string> refs;
    for (const auto& e : fs::directory_iterator(f.ref))
        if (e.is_regular_file() && !image::volume_extension(e.path().string()).empty() &&
            e.path().filename().string()[0] != '.')
            refs.push_back(e.path().string());
    std::sort(refs.begin(), refs.end());
    RV_CHECK(!refs.empty(), ErrorCode::kNotFound, "no reference volumes (.nii.gz, .nii, .mha, ...) in '",
             f.ref, "'");
    std::map<std::string, std::string> preds;  // id -> file
    for (const auto& e : fs::directory_iterator(f.pred))
        if (e.is_regular_file() && !image::volume_extension(e.path().string()).empty())
            preds.emplace(volume_id(e.path().string()), e.path().string());

    std::vector<CaseResult> done;
    json failed = json::array();
    for (const auto& ref : refs) {
        const std::string id = volume_id(ref);
        try {
            const auto it = preds.find(id);
            RV_CHECK(it != preds.end(), ErrorCode::kNotFound, "no prediction for case ", id, " in '", f.pred,
                     "'");
            CaseResult r = evaluate_case(it->second, ref, voxel_units);
            r.id = id;
            done.push_back(std::move(r));
            if (!g.quiet && g.verbose) std::cerr << "rwkv-vision: " << id << " done\n";
        } catch (const Error& e) {
            std::cerr << "rwkv-vision: " << id << ": " << e.what() << "\n";
            failed.push_back({{"case", id}, {"reference_file", ref}, {"error", e.what()}});
        }
    }
    RV_CHECK(!done.empty(), ErrorCode::kNotFound, "no case could be evaluated (", failed.size(), " failed)");

    std::vector<int> labels;
    if (!f.labels.empty()) {
        labels = parse_labels(f.labels);
    } else {
        std::set<int> all;
        for (const auto& r : done)
            for (const auto& [label, c] : r.counts)
                if (c.ref > 0) all.insert(label);
        labels.assign(all.begin(), all.end());
        RV_CHECK(!labels.empty(), ErrorCode::kInvalidArgument,
                 "the references hold no foreground label; name the labels to score with --labels");
    }

    json per_case = json::array();
    std::ostringstream csv;
    csv << std::setprecision(10) << "case,label,dice,hd95,n_pred,n_ref\n";
    std::map<int, std::vector<double>> dice, hd;
    for (const auto& r : done) {
        json m = json::object();
        for (int label : labels) {
            const auto it = r.counts.find(label);
            const metrics::LabelCounts c = it == r.counts.end() ? metrics::LabelCounts{} : it->second;
            const metrics::DiceHd95 v = metrics::apply_policy(c, policy);
            dice[label].push_back(v.dice);
            hd[label].push_back(v.hd95);
            m[std::to_string(label)] = {
                {"Dice", number(v.dice)}, {"HD95", number(v.hd95)}, {"n_pred", c.pred}, {"n_ref", c.ref}};
            csv << r.id << "," << label << "," << v.dice << "," << v.hd95 << "," << c.pred << "," << c.ref
                << "\n";
        }
        per_case.push_back({{"case", r.id},
                            {"prediction_file", r.pred_file},
                            {"reference_file", r.ref_file},
                            {"metrics", m}});
    }
    json mean = json::object();
    std::vector<double> class_dice, class_hd;
    std::ostringstream text;
    text << std::fixed << std::setprecision(4) << "eval seg: " << done.size() << " case(s)";
    if (!failed.empty()) text << " (" << failed.size() << " failed)";
    text << ", empty-mask policy " << metrics::empty_policy_name(policy) << ", HD95 in "
         << (voxel_units ? "voxels" : "mm") << "\n  label      Dice      HD95\n";
    for (int label : labels) {
        const double d = nanmean(dice[label]), h = nanmean(hd[label]);
        class_dice.push_back(d);
        class_hd.push_back(h);
        mean[std::to_string(label)] = {{"Dice", number(d)}, {"HD95", number(h)}};
        text << "  " << std::setw(5) << label << "  " << std::setw(8) << d << "  " << std::setw(8) << h
             << "\n";
    }
    const double md = nanmean(class_dice), mh = nanmean(class_hd);
    text << "  mean   " << std::setw(8) << md << "  " << std::setw(8) << mh << "\n";
    const json summary = {
        {"empty_policy", metrics::empty_policy_name(policy)},
        {"empty_policy_rule",
         policy == metrics::EmptyPolicy::kTransUnet
             ? "RWKV-UNet/TransUNet calculate_metric_percase: pred>0 and ref>0 -> (Dice, HD95); "
               "pred>0, ref empty -> (1, 0); pred empty -> (0, 0)"
             : "nnU-Net: Dice NaN (null, left out of means) when both are empty, 0 when one is; "
               "HD95 null when either is empty"},
        {"hd95",
         "medpy hd95: 95th percentile of the pooled surface distances both ways, surfaces by "
         "6-connected erosion"},
        {"hd95_units", voxel_units ? "voxel" : "mm"},
        {"labels", labels},
        {"prediction_folder", f.pred},
        {"reference_folder", f.ref},
        {"metric_per_case", per_case},
        {"mean", mean},
        {"foreground_mean", {{"Dice", number(md)}, {"HD95", number(mh)}}},
        {"failed", failed}};
    std::cout << text.str();
    if (!f.output.empty()) {
        std::error_code ec;
        fs::create_directories(f.output, ec);
        RV_CHECK(fs::is_directory(f.output), ErrorCode::kIo, "cannot create the output folder '", f.output,
                 "'");
        write_output((fs::path(f.output) / "summary.json").string(),
                     summary.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
        write_output((fs::path(f.output) / "metrics.csv").string(), csv.str());
    }
    return failed.empty() ? kExitOk : kExitSomeFailed;
}

}  // namespace

EvalSubcommand add_eval_seg(CLI::App& eval, const GlobalOptions& global) {
    auto flags = std::make_shared<EvalSegFlags>();
    CLI::App* seg = eval.add_subcommand("seg", "Dice and HD95 of predicted label maps against references");
    seg->add_option("--pred", flags->pred, "folder of predicted label maps (CASE.nii.gz ...)")->required();
    seg->add_option("--ref", flags->ref, "folder of reference label maps, same file names")->required();
    seg->add_option("--labels", flags->labels,
                    "labels to score, e.g. 1,2,3 (default: every label in the references)");
    seg->add_option("--empty-policy", flags->empty_policy,
                    "empty masks: transunet (RWKV-UNet test script, default) or nnunet")
        ->check(CLI::IsMember({"transunet", "nnunet"}));
    seg->add_option("--hd95-units", flags->hd95_units,
                    "mm (voxel spacing honoured, default) or voxel (the official test script's units)")
        ->check(CLI::IsMember({"mm", "voxel"}));
    seg->add_option("-o,--output", flags->output, "folder for summary.json and metrics.csv");
    return {seg, [flags, &global] { return run(*flags, global); }};
}

}  // namespace rv::apps
