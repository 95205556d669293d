// The shard contract of the batch subcommands (classify, segment, restore): which inputs a task
// owns (`-i DIR|FILE|@list.txt`, `--num-parts N --part-id K` over the byte-sorted inputs), where
// its per-part files go (OUT/_parts/part-KKKKK-of-NNNNN.*), resume by skipping finished outputs
// (`--overwrite` redoes them), and the exit status that Slurm, Kubernetes and GNU parallel read
// (0 all ok, 3 some items failed, 2 usage error). `rwkv-vision merge` checks and joins the parts.
// Layer: apps (files and flags only). PyTorch counterpart: none (nnU-Net's
// `nnUNetv2_predict -num_parts -part_id` plays this role). Recipes and design: docs/scale-out.md.
//
// How a command uses it (segment/restore: one or more output files per input item):
//
//   BatchFlags batch;                      // in the command's flag struct
//   batch.add_to(*cmd, "NIfTI file, folder, or @list.txt", "output folder");
//   ...
//   batch.validate();                                        // usage errors -> exit 2
//   auto inputs = select_part(collect_items(batch.input, filter), batch.part());
//   std::vector<ManifestItem> items;                         // outputs relative to -o
//   for (auto& in : inputs) items.push_back({in, {stem(item_relative_path(batch.input, in)) + ".nii.gz"}});
//   return run_output_items(batch, "segment", items, [&](const ManifestItem& it,
//                               const std::vector<std::string>& out_paths) {
//       write_atomically(out_paths[0], [&](const std::string& tmp) { save_mask(tmp, ...); });
//   }, global.quiet);
//
// The contract: N is never read from the environment (Slurm's SLURM_ARRAY_TASK_COUNT is 1 on a
// partial resubmit); pass `--part-id $SLURM_ARRAY_TASK_ID` (or $JOB_COMPLETION_INDEX) explicitly.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace rv::apps {

// One part of a sharded run: part_id in [0, num_parts). An unsharded run is part 0 of 1.
struct Part {
    int num_parts = 1;
    int part_id = 0;
};

// -i, -o, --num-parts, --part-id, --overwrite, --continue: the flags every batch command shares.
struct BatchFlags {
    std::string input;       // -i: FILE, DIR (walked recursively) or @LIST (one path per line)
    std::string output;      // -o: set a default before add_to if the command has one ("-")
    int num_parts = 0;       // --num-parts N; 0 = not sharded
    int part_id = -1;        // --part-id K
    bool overwrite = false;  // --overwrite: redo items whose outputs already exist
    bool resume = false;     // --continue: the default behaviour (skip finished items), accepted
                             // because nnU-Net users type it; excludes --overwrite

    // Adds the flags to `cmd`. -i is required; -o is required when output_required.
    void add_to(CLI::App& cmd, const std::string& input_help, const std::string& output_help,
                bool output_required = true);
    bool sharded() const { return num_parts > 0; }
    // Throws rv::Error(kInvalidArgument) (exit 2) for --part-id without --num-parts, N < 1,
    // K outside [0, N), and --num-parts without -o (a sharded run needs an output folder).
    void validate() const;
    Part part() const;  // {N, K}, or {1, 0} when not sharded
};

// What counts as one item when a folder is walked.
struct ItemFilter {
    // A regular file is an item when this returns true. Empty: has_image_extension.
    std::function<bool(const std::string& path)> is_item_file;
    // A folder is one item (and is not walked into) when this returns true, e.g. a DICOM series
    // folder for segment. Empty: no folder is an item.
    std::function<bool(const std::string& path)> is_item_folder;
};

// The items `spec` names, sorted by the bytes of their paths (locale-independent, so every node
// computes the same list) with duplicates removed:
//   FILE   -> itself;   DIR -> walked recursively (symlinked folders are not followed);
//   @LIST  -> the lines of LIST as written, relative paths relative to the working folder; empty
//             lines skipped, a trailing '\r' dropped. Not checked for existence (no stat of 100 M
//             files on every node): a missing one fails as an item.
// A missing FILE/DIR/LIST throws rv::Error(kNotFound).
std::vector<std::string> collect_items(const std::string& spec, const ItemFilter& filter = {});

// select_part(collect_items(spec, filter), part), but a @LIST that is already sorted by bytes
// without duplicates (`LC_ALL=C sort -u`) is streamed, keeping only this part's lines: memory
// O(items / N) instead of O(items), which matters at 100 M paths. Any other list is read whole
// and sorted. *total (optional) gets the number of items of all parts.
std::vector<std::string> collect_part(const std::string& spec, const Part& part,
                                      const ItemFilter& filter = {}, size_t* total = nullptr);

// sorted_items[K::N] (strided, so parts are balanced). Throws kInvalidArgument unless N >= 1 and
// 0 <= K < N. The input must already be sorted (collect_items does it).
std::vector<std::string> select_part(const std::vector<std::string>& sorted_items, const Part& part);

// The path of `item` relative to the input `spec` it came from, to name outputs under -o:
// DIR -> relative to DIR; FILE -> its file name; @LIST -> the path as written, with a leading '/'
// and "./" components removed. Throws kInvalidArgument for a ".." component (it would escape -o).
std::string item_relative_path(const std::string& spec, const std::string& item);

// Part files: OUT/_parts/part-KKKKK-of-NNNNN<ext>, e.g. ".csv", ".failed", ".manifest".
inline constexpr const char* kPartsFolder = "_parts";
std::string part_stem(const Part& part);  // "part-00003-of-00008"
std::string part_file(const std::string& out_dir, const Part& part, const std::string& ext);
// Parses "part-KKKKK-of-NNNNN<ext>"; false for any other name.
bool parse_part_name(const std::string& filename, Part* part, std::string* ext);

// The manifest a sharded run writes first (OUT/_parts/part-K-of-N.manifest): every item of the
// part and the outputs it must produce, relative to OUT. `merge` reads it to report missing
// items. kind: "classify" (no per-item outputs: the rows are in the part CSV) or the command name
// of an output-file command ("segment", "restore").
struct ManifestItem {
    std::string input;
    std::vector<std::string> outputs;  // relative to OUT
};
struct Manifest {
    std::string kind;
    Part part;
    std::vector<ManifestItem> items;
    // What else decides the results (model, top-k, ...): classify redoes a finished part whose
    // settings differ. Optional; output-file commands skip by output existence alone.
    std::string settings;
};
void write_manifest(const std::string& out_dir, const Manifest& manifest);
Manifest read_manifest(const std::string& path);  // throws kCorruptFile with the line on bad input

// Streams a manifest item by item (merge reads parts of millions of items without holding them).
class ManifestReader {
public:
    explicit ManifestReader(const std::string& path);   // reads the header; throws like read_manifest
    const Manifest& header() const { return header_; }  // kind, part, settings; items empty
    size_t declared_items() const { return declared_; }
    // The next item; false at the end. Throws kCorruptFile when the item count disagrees.
    bool next(ManifestItem* item);

private:
    std::string path_;
    std::ifstream in_;
    Manifest header_;
    size_t declared_ = 0, read_ = 0;
};

// The failed list OUT/_parts/part-K-of-N.failed: one "input<TAB>error" line per failed item. An
// empty list removes a stale file from an earlier attempt.
struct FailedItem {
    std::string input;
    std::string error;
};
void write_failed_list(const std::string& out_dir, const Part& part, const std::vector<FailedItem>& failed);
std::vector<FailedItem> read_failed_list(const std::string& path);

// Fields of the manifest and failed lists: '\\', TAB, '\n', '\r' escaped, so any path fits a line.
std::string escape_field(const std::string& s);
std::string unescape_field(const std::string& s);

// True when the item is finished: every output exists as a regular file (outputs are only ever
// renamed into place complete) and overwrite is off. Paths as given (absolute or relative).
bool outputs_exist(const std::vector<std::string>& paths, bool overwrite);

// 0 when nothing failed, 3 otherwise.
int batch_exit_status(size_t failed);

// The whole loop of an output-file command (segment, restore) over one part:
//  - sharded: writes the manifest first;
//  - skips items whose outputs all exist (unless --overwrite): a requeued task redoes only what is
//    missing;
//  - calls process(item, absolute output paths) for the others, in order; it must write every
//    output through write_atomically (apps/app_common.h); an exception marks the item failed
//    (named on stderr) and the others still run;
//  - sharded: writes OUT/_parts/part-K-of-N.failed, or removes a stale one;
//  - stops between items on SIGINT/SIGTERM (rv::stop_requested), returning 3 (main reports
//    128 + signal);
// and returns batch_exit_status. Output folders are created as needed.
int run_output_items(
    const BatchFlags& flags, const std::string& kind, const std::vector<ManifestItem>& items,
    const std::function<void(const ManifestItem& item, const std::vector<std::string>& outputs)>& process,
    bool quiet);

}  // namespace rv::apps
