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
    int threads = 0;  // 0 = default_threads()
    bool quiet = false;
    int verbose = 0;
};

// The default worker count: the CPUs in this process's affinity mask, capped by
// SLURM_CPUS_PER_TASK when Slurm set it (Slurm without task affinity leaves the mask at the whole
// node). Never the node's core count: several array tasks on one node must not oversubscribe it.
int default_threads();
// g.threads when given (> 0), else default_threads().
int resolve_threads(const GlobalOptions& g);

// Image files named by `input`: a file, a folder walked recursively (following no symlinked
// folders) for files whose extension is an image format we read, or @list.txt (one path per
// line); sorted by bytes of the path so every machine computes the same order (apps/shard.h,
// collect_items). A missing input throws rv::Error(kNotFound).
std::vector<std::string> collect_images(const std::string& input);
bool has_image_extension(const std::string& path);

// Writes `content` to `path` through a temporary file in the same folder and a rename, so a
// reader never sees a half-written file. "-" means stdout.
void write_output(const std::string& path, const std::string& content);

// Writes `target` through writer(tmp): `tmp` is a fresh name in target's folder that keeps
// target's file name, extensions included (".tmp-PID-RAND-case_01.nii.gz"), so writers that pick
// the format from the extension (OpenCV, ITK) write the right one. On success tmp is renamed over
// target (atomic: a reader, a retry or an orphaned copy racing it never sees a torn file); if
// writer throws, tmp is removed and the exception propagates. Creates missing parent folders.
void write_atomically(const std::string& target, const std::function<void(const std::string& tmp)>& writer);

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
