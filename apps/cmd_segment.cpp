// `rwkv-vision segment -m MODEL -i IN -o OUT`: label maps for medical volumes with nnU-Net's
// folder conventions (CASE_0000.nii.gz channel files in, OUT/CASE.nii.gz out; a DICOM folder is one
// case; single files too), sharding and resume from apps/shard.h, a provenance JSON per run.
// Layer: apps (flags, files, progress; the pipeline is heads/seg_pipeline.h).
// PyTorch counterpart: nnUNetv2_predict -i -o -d (--save_probabilities, --continue_prediction,
// -num_parts, -part_id) and RWKV-UNet test.py --is_savenii.
#include <openssl/evp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/commands.h"
#include "apps/shard.h"
#include "heads/seg_pipeline.h"
#include "heads/segmenter.h"
#include "vision/core/error.h"
#include "vision/core/threading.h"

namespace rv::apps {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

struct SegmentFlags {
    std::string model;
    BatchFlags batch;
    bool save_probabilities = false;
    int axis = -1;
    int slices_per_batch = 8;
};

std::string sha256_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    RV_CHECK(in.good(), ErrorCode::kIo, "cannot read '", path, "' to checksum it");
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    std::string hex;
    char b[3];
    for (unsigned i = 0; i < n; ++i) {
        std::snprintf(b, sizeof b, "%02x", md[i]);
        hex += b;
    }
    return hex;
}

// The command line as the kernel recorded it (/proc/self/cmdline), for the provenance file.
std::vector<std::string> command_line() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> args;
    std::string arg;
    while (std::getline(in, arg, '\0')) args.push_back(arg);
    return args;
}

double peak_rss_mib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// OUT-relative output stem of an item: its folder under the input, then CASE.
std::string output_stem(const std::string& spec, const std::string& item) {
    const std::string id = heads::case_id(item);
    if (fs::path(item).lexically_normal() == fs::path(spec).lexically_normal() && fs::is_directory(item))
        return id;
    const fs::path rel(item_relative_path(spec, item));
    return (rel.parent_path() / id).string();
}

int run(const SegmentFlags& f, const GlobalOptions& g) {
    f.batch.validate();
    RV_CHECK(f.slices_per_batch >= 1, ErrorCode::kInvalidArgument, "--batch must be at least 1");
    set_num_threads(resolve_threads(g));
    const auto t_start = std::chrono::steady_clock::now();
    const heads::Segmenter model = heads::Segmenter::load(f.model);
    const heads::SliceNet net = heads::segmenter_net(model);
    const heads::SegPreprocess& pre = net.preprocess;
    if (f.axis >= 0 && f.axis != pre.slice_axis && !pre.any_axis && !g.quiet)
        std::cerr << "rwkv-vision: note: model " << net.id << " was trained on slices along axis "
                  << pre.slice_axis << " of " << pre.orientation << "; --axis " << f.axis
                  << " asks for another\n";

    // Items: a DICOM folder given as -i is one case; otherwise files that start a case and DICOM
    // folders found under -i.
    std::vector<std::string> all;
    if (image::is_dicom_folder(f.batch.input))
        all = {f.batch.input};
    else
        all = collect_items(f.batch.input, {heads::is_case_file, image::is_dicom_folder});
    const Part part = f.batch.part();
    const auto inputs = select_part(all, part);
    if (all.empty())
        RV_THROW(ErrorCode::kNotFound, "no volumes in '", f.batch.input,
                 "' (.nii.gz, .nii, .mha, .mhd, .nrrd, .nhdr, .png, .tif, DICOM folders; channel files "
                 "CASE_0000...)");
    std::vector<ManifestItem> items;
    for (const auto& in : inputs) {
        const std::string stem = output_stem(f.batch.input, in);
        std::string ext = image::is_dicom_folder(in) ? ".nii.gz" : image::volume_extension(in);
        ManifestItem item{in, {stem + ext}};
        const std::string prob_ext = ext == ".png" ? ".tif" : ext;  // PNG holds no floats
        if (f.save_probabilities)
            for (int k = 0; k < net.num_classes; ++k)
                item.outputs.push_back(stem + "_prob_" + std::to_string(k) + prob_ext);
        items.push_back(std::move(item));
    }

    json cases = json::array();
    heads::SegmentOptions options;
    options.batch = f.slices_per_batch;
    options.slice_axis = f.axis;
    const bool tty = !g.quiet && isatty(STDERR_FILENO);
    size_t index = 0;
    const int status = run_output_items(
        f.batch, "segment", items,
        [&](const ManifestItem& item, const std::vector<std::string>& outputs) {
            ++index;
            const std::string id = heads::case_id(item.input);
            json record = {{"case", id}, {"input", item.input}, {"outputs", item.outputs}};
            try {
                const heads::SegCase c = heads::case_for_item(item.input, pre.in_channels);
                record["channels"] = c.channels;
                if (tty)
                    options.on_slices = [&](int64_t done, int64_t total) {
                        std::fprintf(stderr, "\r[%zu/%zu] %-32.32s slices %lld/%lld", index, items.size(),
                                     id.c_str(), static_cast<long long>(done), static_cast<long long>(total));
                    };
                const std::vector<std::string> probs(outputs.begin() + 1, outputs.end());
                std::error_code ec;
                fs::create_directories(fs::path(outputs[0]).parent_path(), ec);
                const heads::CaseTiming t = heads::segment_case(net, c, outputs[0], probs, options);
                if (tty) std::fprintf(stderr, "\r%78s\r", "");
                record.update({{"status", "ok"},
                               {"read_s", t.read_s},
                               {"compute_s", t.compute_s},
                               {"write_s", t.write_s},
                               {"slices", t.slices},
                               {"size", t.size},
                               {"orientation", t.orientation}});
                cases.push_back(record);
            } catch (const std::exception& e) {
                if (tty) std::fprintf(stderr, "\r%78s\r", "");
                record.update({{"status", "failed"}, {"error", e.what()}});
                cases.push_back(record);
                throw;
            }
        },
        true);

    const json provenance = {
        {"tool", std::string("rwkv-vision ") + RV_VERSION},
        {"command", "segment"},
        {"command_line", command_line()},
        {"model",
         {{"id", net.id}, {"weights", model.weights_path()}, {"sha256", sha256_file(model.weights_path())}}},
        {"preprocess",
         {{"orientation", pre.orientation},
          {"slice_axis", f.axis >= 0 ? f.axis : pre.slice_axis},
          {"input", {pre.input_h, pre.input_w}},
          {"intensity", pre.intensity.mode},
          {"resize_in", pre.resize_in},
          {"resize_out", pre.resize_out}}},
        {"input", f.batch.input},
        {"part", {{"num_parts", part.num_parts}, {"part_id", part.part_id}}},
        {"items_in_part", items.size()},
        {"threads", num_threads()},
        {"slices_per_batch", f.slices_per_batch},
        {"cases", cases},
        {"total_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count()},
        {"peak_rss_mib", peak_rss_mib()},
        {"exit_status", status}};
    const std::string prov_path = f.batch.sharded() ? part_file(f.batch.output, part, ".provenance.json")
                                                    : (fs::path(f.batch.output) / "provenance.json").string();
    std::error_code ec;
    fs::create_directories(fs::path(prov_path).parent_path(), ec);
    write_output(prov_path, provenance.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    return status;
}

}  // namespace

Runner add_segment(CLI::App& app, const GlobalOptions& global) {
    auto flags = std::make_shared<SegmentFlags>();
    CLI::App* cmd =
        app.add_subcommand("segment", "label maps for medical volumes (nnU-Net folder conventions)");
    cmd->add_option("-m,--model", flags->model, "zoo id (e.g. brainmask_t1) or weights file")->required();
    flags->batch.add_to(
        *cmd,
        "a volume (.nii.gz, .nii, .mha, .nrrd, .png, ...), a DICOM series folder, a folder of "
        "cases (CASE_0000.nii.gz, CASE_0001.nii.gz, ...), or @list.txt",
        "output folder: CASE.<input ending> label maps (uint8, the input's geometry)");
    cmd->add_flag("--save-probabilities", flags->save_probabilities,
                  "also write CASE_prob_<k> float maps, one per class (softmax)");
    cmd->add_option(
           "--axis", flags->axis,
           "slice axis of the model-oriented volume: 0 sagittal, 1 coronal, 2 axial (default: the model's)")
        ->check(CLI::Range(0, 2));
    cmd->add_option("--batch", flags->slices_per_batch, "slices per forward pass (default 8)")
        ->check(CLI::PositiveNumber);
    return [flags, &global, cmd] { return cmd->parsed() ? run(*flags, global) : kExitUsage; };
}

}  // namespace rv::apps
