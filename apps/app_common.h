// Pieces shared by the subcommands of `rwkv-vision`: exit statuses, input collection, atomic
// output files, progress lines and the error-reporting wrapper.
// Layer: apps (thin: no numerics). PyTorch counterpart: none (timm's inference.py plays this role).
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace rv::apps {

// Exit statuses (README table).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFatal = 1;       // the run could not start: model, config, output path
inline constexpr int kExitUsage = 2;       // bad command line
inline constexpr int kExitSomeFailed = 3;  // the run finished, but at least one input failed

struct GlobalOptions {
    int threads = 0;  // 0 = CPUs in the affinity mask
    bool quiet = false;
    int verbose = 0;
};

// Files under `input` (a file, or a folder walked recursively, following no symlinked folders)
// whose extension is an image format we read; sorted by bytes of the path so every machine
// computes the same order. A missing input throws rv::Error(kNotFound).
std::vector<std::string> collect_images(const std::string& input);
bool has_image_extension(const std::string& path);

// Writes `content` to `path` through a temporary file in the same folder and a rename, so a
// reader never sees a half-written file. "-" means stdout.
void write_output(const std::string& path, const std::string& content);

// Runs `body`; prints rv::Error and other exceptions as "rwkv-vision: error: ..." on stderr and
// returns kExitFatal instead of letting them escape.
int guarded(const std::function<int()>& body);

// A progress line on stderr when it is a terminal (overwritten in place), nothing otherwise.
class Progress {
public:
    Progress(size_t total, bool enabled);
    void step(const std::string& item);
    void finish();

private:
    size_t total_, done_ = 0;
    bool enabled_;
};

}  // namespace rv::apps
