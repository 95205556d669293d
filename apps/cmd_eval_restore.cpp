// `rwkv-vision eval restore`: PSNR and SSIM of restored images against references, per image and
// mean, as CSV + JSON. Files pair by name (file name without extension) across --pred and --ref.
// Layer: apps (images via vision/image/image_float.h; numbers from vision/metrics/psnr_ssim.h).
// Python counterparts: BasicSR basicsr/metrics/psnr_ssim.py (default rules) and Restore-RWKV
// evaluation/evaluation_metric.py (--medical); tools/restore_metrics.py reproduces both.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/commands.h"
#include "vision/core/error.h"
#include "vision/image/image_float.h"
#include "vision/metrics/psnr_ssim.h"

namespace rv::apps {
namespace {
namespace fs = std::filesystem;

struct Flags {
    std::string pred, ref, output;
    int64_t crop_border = 0;
    bool y_channel = false;
    bool medical = false;
};

// Samples as stored (no EXIF rotation, no bit-depth reduction): 8- or 16-bit, gray or colour;
// alpha is dropped. image::ImageF keeps sample / (2^bits - 1) in float, which rounds back to the
// exact integer sample.
metrics::QualityImage read_quality_image(const std::string& path) {
    const image::ImageF f = image::load_image_float(path);
    metrics::QualityImage img;
    img.height = f.height;
    img.width = f.width;
    img.channels = f.channels;
    img.max_value = f.bit_depth == 16 ? 65535.0 : 255.0;
    img.values.resize(f.pixels.size());
    for (size_t i = 0; i < f.pixels.size(); ++i)
        img.values[i] = std::round(static_cast<double>(f.pixels[i]) * img.max_value);
    return img;
}

// Image files directly in `dir`, by stem. Two files with one stem are ambiguous: an error.
std::map<std::string, std::string> images_by_stem(const std::string& dir, const char* flag) {
    RV_CHECK(fs::is_directory(dir), ErrorCode::kNotFound, flag, " '", dir, "' is not a folder");
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file() || !has_image_extension(e.path().string())) continue;
        const std::string stem = e.path().stem().string();
        RV_CHECK(!out.count(stem), ErrorCode::kInvalidArgument, flag, " folder '", dir,
                 "' has two images named '", stem, "' (", fs::path(out[stem]).filename().string(), " and ",
                 e.path().filename().string(), "); files pair by name without extension, keep one");
        out[stem] = e.path().string();
    }
    RV_CHECK(!out.empty(), ErrorCode::kNotFound, "no images in ", flag, " folder '", dir, "'");
    return out;
}

std::string fmt(double v, int digits) {
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

int run(const Flags& f, const GlobalOptions& g) {
    const auto refs = images_by_stem(f.ref, "--ref");
    const auto preds = images_by_stem(f.pred, "--pred");
    std::vector<std::string> missing;
    for (const auto& [stem, path] : refs)
        if (!preds.count(stem)) missing.push_back(fs::path(path).filename().string());
    if (!missing.empty()) {
        std::ostringstream names;
        for (size_t i = 0; i < missing.size() && i < 5; ++i) names << (i ? ", " : "") << missing[i];
        if (missing.size() > 5) names << ", ...";
        RV_THROW(ErrorCode::kNotFound, missing.size(),
                 " reference image(s) have no prediction of the same name in '", f.pred, "': ", names.str());
    }
    for (const auto& [stem, path] : preds)
        if (!refs.count(stem) && !g.quiet)
            std::cerr << "rwkv-vision: note: " << path << " has no reference; not scored\n";

    metrics::QualityOptions opt;
    opt.rules = f.medical ? metrics::QualityRules::kMedical : metrics::QualityRules::kBasicSR;
    opt.crop_border = f.crop_border;
    opt.y_channel = f.y_channel;

    nlohmann::json images = nlohmann::json::array();
    std::ostringstream csv;
    csv << "name,psnr,ssim\n";
    double sum_psnr = 0.0, sum_ssim = 0.0;
    for (const auto& [stem, ref_path] : refs) {
        const std::string& pred_path = preds.at(stem);
        const auto pred = read_quality_image(pred_path);
        const auto ref = read_quality_image(ref_path);
        const std::string what = "'" + pred_path + "' vs '" + ref_path + "'";
        const metrics::Quality q = metrics::image_quality(pred, ref, opt, what.c_str());
        sum_psnr += q.psnr;
        sum_ssim += q.ssim;
        csv << stem << "," << fmt(q.psnr, 6) << "," << fmt(q.ssim, 8) << "\n";
        images.push_back({{"name", stem},
                          {"pred", pred_path},
                          {"ref", ref_path},
                          {"width", ref.width},
                          {"height", ref.height},
                          {"channels", ref.channels},
                          {"bits", ref.max_value > 255.0 ? 16 : 8},
                          {"psnr", num(q.psnr)},
                          {"ssim", q.ssim}});
    }
    const double n = static_cast<double>(refs.size());
    const double mean_psnr = sum_psnr / n, mean_ssim = sum_ssim / n;
    csv << "mean," << fmt(mean_psnr, 6) << "," << fmt(mean_ssim, 8) << "\n";
    const nlohmann::json report = {
        {"rules", f.medical ? "medical (Restore-RWKV: range = max - min of the reference, zero-padded SSIM)"
                            : "basicsr (peak 255 on the [0, 255] scale, valid SSIM)"},
        {"crop_border", f.crop_border},
        {"test_y_channel", f.y_channel},
        {"pred", f.pred},
        {"ref", f.ref},
        {"count", refs.size()},
        {"mean", {{"psnr", num(mean_psnr)}, {"ssim", mean_ssim}}},
        {"images", images}};
    if (!f.output.empty()) {
        fs::path base(f.output);
        if (base.extension() == ".json" || base.extension() == ".csv") base.replace_extension();
        write_output(base.string() + ".csv", csv.str());
        write_output(base.string() + ".json", report.dump(2) + "\n");
    }
    std::cout << csv.str();
    if (std::isinf(mean_psnr) && !g.quiet)
        std::cerr << "rwkv-vision: note: some images are identical to their reference (PSNR inf); the mean "
                     "PSNR is inf\n";
    return kExitOk;
}

}  // namespace

EvalSubcommand add_eval_restore(CLI::App& eval, const GlobalOptions& global) {
    auto f = std::make_shared<Flags>();
    CLI::App* cmd = eval.add_subcommand(
        "restore", "PSNR/SSIM of restored images against references (BasicSR rules, or --medical)");
    cmd->add_option("--pred", f->pred, "folder of restored images")->required();
    cmd->add_option("--ref", f->ref, "folder of reference images (same names, any image extension)")
        ->required();
    cmd->add_option("--crop-border", f->crop_border,
                    "pixels removed from each side before scoring (SR: the scale)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag("--test-y-channel", f->y_channel, "score the BT.601 luma Y of colour images (BasicSR)");
    cmd->add_flag("--medical", f->medical,
                  "Restore-RWKV rules: data range = max - min of each reference, zero-padded SSIM");
    cmd->add_option("-o,--output", f->output, "write OUTPUT.csv and OUTPUT.json (per image and mean)");
    return {cmd, [f, &global] { return run(*f, global); }};
}

}  // namespace rv::apps
