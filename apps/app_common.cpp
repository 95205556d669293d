// Shared helpers of the command-line app. Layer: apps.
#include "apps/app_common.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "apps/shard.h"
#include "vision/core/error.h"
#include "vision/core/threading.h"

namespace rv::apps {
namespace fs = std::filesystem;

bool has_image_extension(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static const char* const known[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp",
                                        ".pgm", ".ppm", ".pbm",  ".pnm", ".jp2", ".jpe"};
    return std::any_of(std::begin(known), std::end(known), [&](const char* k) { return ext == k; });
}

int default_threads() {
    int n = available_cpus();
    if (const char* env = std::getenv("SLURM_CPUS_PER_TASK")) {
        char* end = nullptr;
        const long slurm = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && slurm > 0 && slurm < n) n = static_cast<int>(slurm);
    }
    return n;
}

int resolve_threads(const GlobalOptions& g) { return g.threads > 0 ? g.threads : default_threads(); }

std::vector<std::string> collect_images(const std::string& input) { return collect_items(input, {}); }

namespace {

// ".tmp-PID-RAND-<name>" beside target: hidden, unique per attempt, extensions kept.
fs::path temp_name_for(const fs::path& target) {
    static std::random_device rd;
    std::string name = ".tmp-";
    name += std::to_string(getpid());
    name += '-';
    name += std::to_string(rd());
    name += '-';
    name += target.filename().string();
    return target.parent_path() / name;
}

}  // namespace

void write_atomically(const std::string& target, const std::function<void(const std::string& tmp)>& writer) {
    const fs::path path(target);
    std::error_code ec;
    if (path.has_parent_path()) {
        fs::create_directories(path.parent_path(), ec);
        RV_CHECK(!ec, ErrorCode::kIo, "cannot create the output folder '", path.parent_path().string(),
                 "': ", ec.message());
    }
    const fs::path tmp = temp_name_for(path);
    try {
        writer(tmp.string());
    } catch (...) {
        fs::remove(tmp, ec);
        throw;
    }
    RV_CHECK(fs::is_regular_file(tmp, ec), ErrorCode::kIo, "writing '", target, "' produced no file");
    fs::rename(tmp, path, ec);
    if (ec) {
        const std::string why = ec.message();
        fs::remove(tmp, ec);
        RV_THROW(ErrorCode::kIo, "cannot move the result into place at '", target, "': ", why);
    }
}

void write_output(const std::string& path, const std::string& content) {
    if (path == "-" || path.empty()) {
        std::cout << content << std::flush;
        return;
    }
    const fs::path target(path);
    std::error_code ec;
    // A device or pipe (-o /dev/null, -o /dev/stderr, a FIFO) is written in place: renaming a
    // temporary file over it would replace the device with a regular file.
    if (fs::exists(target, ec) && !fs::is_regular_file(target, ec) && !fs::is_directory(target, ec)) {
        std::ofstream f(target, std::ios::binary);
        RV_CHECK(f.good(), ErrorCode::kIo, "cannot write '", path, "'");
        f << content;
        f.flush();
        RV_CHECK(f.good(), ErrorCode::kIo, "writing '", path, "' failed");
        return;
    }
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    RV_CHECK(fs::is_directory(dir, ec), ErrorCode::kNotFound, "output folder '", dir.string(),
             "' does not exist");
    std::random_device rd;
    std::string tmp_name = ".";
    tmp_name += target.filename().string();
    tmp_name += ".tmp";
    tmp_name += std::to_string(getpid());
    tmp_name += '-';
    tmp_name += std::to_string(rd());
    const fs::path tmp = dir / tmp_name;
    {
        std::ofstream f(tmp, std::ios::binary);
        RV_CHECK(f.good(), ErrorCode::kIo, "cannot write '", tmp.string(), "'");
        f << content;
        f.flush();
        if (!f.good()) {
            fs::remove(tmp, ec);
            RV_THROW(ErrorCode::kIo, "writing '", tmp.string(), "' failed (disk full?)");
        }
    }
    fs::rename(tmp, target, ec);
    if (ec) {
        fs::remove(tmp, ec);
        RV_THROW(ErrorCode::kIo, "cannot move the result into place at '", path, "'");
    }
}

int guarded(const std::function<int()>& body) {
    try {
        return body();
    } catch (const Error& e) {
        std::cerr << "rwkv-vision: error: " << e.what() << "\n";
        return e.code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFatal;
    } catch (const std::bad_alloc&) {
        std::cerr << "rwkv-vision: error: out of memory\n";
    } catch (const std::exception& e) {
        std::cerr << "rwkv-vision: error: " << e.what() << "\n";
    }
    return kExitFatal;
}

Progress::Progress(size_t total, bool enabled) : total_(total), enabled_(enabled && isatty(STDERR_FILENO)) {}

void Progress::step(const std::string& item) {
    ++done_;
    if (!enabled_) return;
    std::string name = fs::path(item).filename().string();
    if (name.size() > 40) {
        name.resize(37);
        name += "...";
    }
    std::fprintf(stderr, "\r[%zu/%zu] %-40s", done_, total_, name.c_str());
    std::fflush(stderr);
}

void Progress::finish() {
    if (enabled_ && done_ > 0) std::fprintf(stderr, "\r%*s\r", 60, "");
}

}  // namespace rv::apps
