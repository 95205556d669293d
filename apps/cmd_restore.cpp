// `rwkv-vision restore`: denoise / deblur / super-resolve image files or folders with a
// Restore-RWKV model (a folder in gives a folder out with the same relative names), whole-image
// when the estimated memory fits --max-memory, else tiles with overlap and feathered blending.
// Flags follow the tools people know (Real-ESRGAN-ncnn-vulkan / waifu2x: -i -o -m -n -s -t -f).
// Sharding, resume and exit statuses come from apps/shard.h (0 ok, 3 some inputs failed, 2 usage).
// Layer: apps. PyTorch counterpart: the official test script (model(img) per slice) / BasicSR
// inference_*.py with tile_process.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>

#include "apps/commands.h"
#include "apps/shard.h"
#include "heads/restorer.h"
#include "vision/core/error.h"
#include "vision/core/threading.h"
#include "vision/image/image_float.h"

namespace rv::apps {
namespace {
namespace fs = std::filesystem;

struct RestoreFlags {
    BatchFlags batch;
    std::string model;
    std::string task;
    int noise = -1;
    int scale = 0;
    int64_t tile = -1;
    int64_t tile_pad = 16;
    std::string format;
    std::string max_memory = "4G";
    int quality = 95;
};

// "4096" (MiB), "512M", "4G", "4GiB" -> bytes.
int64_t parse_memory(const std::string& s) {
    RV_CHECK(!s.empty(), ErrorCode::kInvalidArgument, "--max-memory: empty value");
    size_t pos = 0;
    double v = 0;
    try {
        v = std::stod(s, &pos);
    } catch (const std::exception&) {
        RV_THROW(ErrorCode::kInvalidArgument, "--max-memory '", s, "' is not a size (e.g. 4096, 512M, 4G)");
    }
    std::string unit = s.substr(pos);
    std::transform(unit.begin(), unit.end(), unit.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    double mult = 1 << 20;
    if (unit == "" || unit == "M" || unit == "MB" || unit == "MIB")
        mult = 1 << 20;
    else if (unit == "G" || unit == "GB" || unit == "GIB")
        mult = double(1 << 30);
    else if (unit == "K" || unit == "KB" || unit == "KIB")
        mult = 1 << 10;
    else
        RV_THROW(ErrorCode::kInvalidArgument, "--max-memory '", s, "': unknown unit '", unit,
                 "' (use M or G)");
    RV_CHECK(v > 0 && v * mult < 9e18, ErrorCode::kInvalidArgument, "--max-memory '", s, "' is out of range");
    return static_cast<int64_t>(v * mult);
}

std::string extension_for(const std::string& format) {
    if (format == "png") return ".png";
    if (format == "jpg" || format == "jpeg") return ".jpg";
    if (format == "webp") return ".webp";
    if (format == "tif" || format == "tiff") return ".tif";
    RV_THROW(ErrorCode::kInvalidArgument, "-f '", format, "': use png, jpg, webp or tif");
}

bool writable_extension(const std::string& ext) {
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".webp" || ext == ".tif" ||
           ext == ".tiff" || ext == ".bmp";
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Output name under -o for an input: the same relative path, with the -f extension if given, or
// .png when the input's format cannot be written (e.g. .pgm).
std::string output_name(const RestoreFlags& f, const std::string& item) {
    fs::path rel = item_relative_path(f.batch.input, item);
    const std::string ext = lower(rel.extension().string());
    if (!f.format.empty())
        rel.replace_extension(extension_for(f.format));
    else if (!writable_extension(ext))
        rel.replace_extension(".png");
    return rel.string();
}

void check_task(const RestoreFlags& f, const heads::Restorer& r) {
    if (f.task.empty()) return;
    if (f.task == "sr") {
        RV_CHECK(r.scale() > 1, ErrorCode::kInvalidArgument, "--task sr: model '", f.model,
                 "' does not upscale (scale 1); use a super-resolution model such as restore_rwkv_sr2");
    } else {
        RV_CHECK(r.scale() == 1, ErrorCode::kInvalidArgument, "--task ", f.task, ": model '", f.model,
                 "' is a x", r.scale(), " super-resolution model");
        RV_CHECK(r.task().empty() || r.task() == f.task, ErrorCode::kInvalidArgument, "--task ", f.task,
                 ": model '", f.model, "' was trained for '", r.task(), "'");
    }
}

int run(const RestoreFlags& f, const GlobalOptions& g) {
    f.batch.validate();
    RV_CHECK(f.tile >= -1, ErrorCode::kInvalidArgument,
             "-t must be 0 (whole image), a tile size, or absent (auto)");
    RV_CHECK(f.tile_pad >= 0, ErrorCode::kInvalidArgument, "--tile-pad must be >= 0");
    if (!f.format.empty()) extension_for(f.format);  // usage error before any work
    heads::TileOptions topt;
    topt.tile = f.tile;
    topt.tile_pad = f.tile_pad;
    topt.max_memory = parse_memory(f.max_memory);
    set_num_threads(resolve_threads(g));

    const heads::Restorer restorer = heads::Restorer::load(f.model, f.scale);
    check_task(f, restorer);
    if (f.scale > 0)
        RV_CHECK(f.scale == restorer.scale(), ErrorCode::kInvalidArgument, "-s ", f.scale, ": model '",
                 f.model, "' works at scale ", restorer.scale());
    if (f.noise >= 0 && !g.quiet)
        std::cerr << "rwkv-vision: note: -n " << f.noise
                  << " is ignored: the model is blind (it estimates the "
                  << "noise itself)\n";
    if (g.verbose)
        std::cerr << "rwkv-vision: model " << restorer.source() << " (task '" << restorer.task()
                  << "', scale " << restorer.scale() << ", " << restorer.channels() << " channels)\n";

    // A single file with -o naming an image file writes exactly there; otherwise -o is a folder.
    BatchFlags flags = f.batch;
    const bool single = fs::is_regular_file(f.batch.input) &&
                        writable_extension(lower(fs::path(f.batch.output).extension().string())) &&
                        !fs::is_directory(f.batch.output) && !f.batch.sharded();
    std::vector<std::string> inputs = select_part(collect_items(f.batch.input), f.batch.part());
    RV_CHECK(!inputs.empty(), ErrorCode::kNotFound, "no image files under '", f.batch.input, "'");
    std::vector<ManifestItem> items;
    if (single) {
        const fs::path out(f.batch.output);
        flags.output = out.has_parent_path() ? out.parent_path().string() : ".";
        items.push_back({inputs[0], {out.filename().string()}});
    } else {
        for (const auto& in : inputs) items.push_back({in, {output_name(f, in)}});
    }
    return run_output_items(
        flags, "restore", items,
        [&](const ManifestItem& item, const std::vector<std::string>& outs) {
            const image::ImageF img = image::load_image_float(item.input);
            heads::TileReport rep;
            const image::ImageF result = restorer.restore(img, topt, &rep);
            if (g.verbose)
                std::cerr << "rwkv-vision: " << item.input << ": " << img.width << "x" << img.height << " -> "
                          << result.width << "x" << result.height
                          << (rep.tile
                                  ? ", " + std::to_string(rep.tiles) + " tiles of " + std::to_string(rep.tile)
                                  : std::string(", whole image"))
                          << ", estimated " << (rep.estimated_bytes >> 20) << " MiB\n";
            write_atomically(outs[0], [&](const std::string& tmp) {
                image::save_image_float(tmp, result, result.bit_depth, f.quality);
            });
        },
        g.quiet);
}

}  // namespace

Runner add_restore(CLI::App& app, const GlobalOptions& global) {
    auto flags = std::make_shared<RestoreFlags>();
    CLI::App* cmd = app.add_subcommand(
        "restore", "restore images (denoise, deblur, super-resolution) with a Restore-RWKV model");
    flags->batch.add_to(*cmd, "image file, folder (walked recursively) or @list.txt",
                        "output image file (single input) or folder (same relative names)");
    cmd->add_option("-m,--model", flags->model,
                    "zoo id (restore_rwkv_denoise, restore_rwkv_sr2) or checkpoint")
        ->required();
    cmd->add_option("--task", flags->task, "denoise | deblur | sr (checked against the model)")
        ->check(CLI::IsMember({"denoise", "deblur", "sr"}));
    cmd->add_option("-n,--noise-level", flags->noise, "noise level (blind models ignore it)")
        ->check(CLI::Range(-1, 255));
    cmd->add_option("-s,--scale", flags->scale, "upscale factor (must match the model; default: the model's)")
        ->check(CLI::Range(1, 8));
    cmd->add_option("-t,--tile", flags->tile,
                    "tile size in input pixels; 0 = whole image; default: auto "
                    "(whole image when it fits --max-memory)");
    cmd->add_option("--tile-pad", flags->tile_pad, "overlap context around each tile, input pixels")
        ->capture_default_str();
    cmd->add_option("-f,--format", flags->format, "output format: png | jpg | webp | tif (default: input's)")
        ->check(CLI::IsMember({"png", "jpg", "jpeg", "webp", "tif", "tiff"}));
    cmd->add_option("--max-memory", flags->max_memory, "memory budget for a whole-image run (e.g. 4G, 512M)")
        ->capture_default_str();
    cmd->add_option("--quality", flags->quality, "JPEG/WebP quality")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    return [flags, &global] { return run(*flags, global); };
}

}  // namespace rv::apps
