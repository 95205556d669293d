// `rwkv-vision merge -o OUT [--expect N] [--allow-failed]`: checks the parts of a sharded run in
// OUT/_parts and, for classify, joins them into OUT/results.csv, byte-identical to an unsharded
// `classify --format csv` over the same inputs; for output-file commands (segment, restore) it
// checks that every expected output exists. Missing or incomplete parts are named on stderr and
// their ids printed on stdout as "3,7" (the array indices to resubmit); exit status 3 then.
// Layer: apps. PyTorch counterpart: none. Design: docs/scale-out.md.
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <unordered_set>

#include "apps/classify_parts.h"
#include "apps/commands.h"
#include "apps/shard.h"
#include "vision/core/error.h"

namespace rv::apps {
namespace {
namespace fs = std::filesystem;

struct MergeFlags {
    std::string output;
    int expect = 0;
    bool allow_failed = false;
};

// What is wrong with one part; empty problems = complete.
struct PartState {
    bool has_manifest = false;
    std::string kind;
    std::unordered_set<std::string> failed;  // items listed in its .failed file
    std::vector<std::string> problems;
    size_t items = 0;
    void problem(const std::string& p) {
        if (problems.size() < 5)
            problems.push_back(p);
        else if (problems.size() == 5)
            problems.push_back("...");
    }
};

// The part counts (N) that files in OUT/_parts were written for.
std::set<int> part_counts_present(const fs::path& parts_dir) {
    std::set<int> counts;
    std::error_code ec;
    for (fs::directory_iterator it(parts_dir, ec), end; !ec && it != end; it.increment(ec)) {
        Part p;
        std::string ext;
        if (parse_part_name(it->path().filename().string(), &p, &ext) &&
            (ext == ".manifest" || ext == ".csv" || ext == ".failed"))
            counts.insert(p.num_parts);
    }
    return counts;
}

// One part's CSV, read one image (block of rows) at a time, checked against its manifest.
class PartCursor {
public:
    PartCursor(const std::string& out, const Part& part, PartState* state)
        : csv_(part_file(out, part, ".csv"), std::ios::binary),
          manifest_(part_file(out, part, ".manifest")),
          state_(state) {
        std::string first;
        if (!csv_.good()) {
            state_->problem("no results file (the task did not finish)");
            return;
        }
        if (!read_csv_record(csv_, &raw_, &first) || raw_ != kClassifyCsvHeader) {
            state_->problem("results file does not start with the header " +
                            std::string("filename,index,label,score"));
            return;
        }
        advance_record();
        next_block();
    }
    bool has_block() const { return has_block_; }
    const std::string& name() const { return block_name_; }
    const std::string& rows() const { return block_rows_; }

    // Moves to the next image; at the end, checks the manifest has no image left unaccounted for.
    void next_block() {
        has_block_ = has_record_;
        if (!has_block_) {
            finish_manifest("");
            return;
        }
        block_name_ = record_name_;
        block_rows_.clear();
        while (has_record_ && record_name_ == block_name_) {
            block_rows_ += raw_;
            advance_record();
        }
        if (has_record_ && record_name_ < block_name_)
            state_->problem("results file is not sorted by filename");
        finish_manifest(block_name_);
    }

private:
    void advance_record() {
        std::string name;
        has_record_ = read_csv_record(csv_, &raw_, &name);
        if (has_record_) record_name_ = std::move(name);
    }
    // Walks the manifest up to `name` (or to its end when name is empty): every image passed
    // on the way must be a failed one; `name` itself must be in the manifest.
    void finish_manifest(const std::string& name) {
        try {
            ManifestItem item;
            while (true) {
                if (!pending_.empty()) {
                    item.input = std::move(pending_);
                    pending_.clear();
                } else if (!manifest_.next(&item)) {
                    if (!name.empty()) state_->problem("'" + name + "' has rows but is not in the manifest");
                    return;
                }
                ++state_->items;
                if (!name.empty() && item.input == name) return;
                if (!name.empty() && name < item.input) {
                    state_->problem("'" + name + "' has rows but is not in the manifest");
                    --state_->items;
                    pending_ = item.input;
                    return;
                }
                if (!state_->failed.count(item.input)) state_->problem("no results for '" + item.input + "'");
            }
        } catch (const Error& e) {
            state_->problem(e.what());
        }
    }

    std::ifstream csv_;
    ManifestReader manifest_;
    PartState* state_;
    std::string raw_, record_name_, block_name_, block_rows_, pending_;
    bool has_record_ = false, has_block_ = false;
};

// Joins the classify parts into OUT/results.csv; returns false (nothing written) when a part
// turned out incomplete or inconsistent while reading.
bool merge_classify(const std::string& out, int num_parts, std::vector<PartState>& states, bool* wrote) {
    // One open file per part (two during the first reads): raise the soft limit to the hard one.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    std::vector<std::unique_ptr<PartCursor>> cursors(static_cast<size_t>(num_parts));
    using Entry = std::pair<std::string, int>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
    for (int k = 0; k < num_parts; ++k) {
        auto& s = states[static_cast<size_t>(k)];
        if (!s.problems.empty()) continue;
        cursors[static_cast<size_t>(k)] = std::make_unique<PartCursor>(out, Part{num_parts, k}, &s);
        if (cursors[static_cast<size_t>(k)]->has_block())
            heap.push({cursors[static_cast<size_t>(k)]->name(), k});
    }
    bool ok =
        std::all_of(states.begin(), states.end(), [](const PartState& s) { return s.problems.empty(); });
    struct Incomplete {};
    try {
        write_atomically((fs::path(out) / "results.csv").string(), [&](const std::string& tmp) {
            std::ofstream f(tmp, std::ios::binary);
            f << kClassifyCsvHeader;
            std::string last;
            int last_part = -1;
            while (!heap.empty()) {
                const int k = heap.top().second;
                heap.pop();
                PartCursor& c = *cursors[static_cast<size_t>(k)];
                if (last_part >= 0 && c.name() == last)
                    states[static_cast<size_t>(k)].problem("'" + last + "' is also in part " +
                                                           std::to_string(last_part));
                if (ok) f << c.rows();
                last = c.name();
                last_part = k;
                c.next_block();
                if (c.has_block()) heap.push({c.name(), k});
            }
            f.flush();
            RV_CHECK(f.good(), ErrorCode::kIo, "cannot write '", tmp, "' (disk full?)");
            ok = std::all_of(states.begin(), states.end(),
                             [](const PartState& s) { return s.problems.empty(); });
            if (!ok) throw Incomplete{};
        });
    } catch (const Incomplete&) {
        *wrote = false;
        return false;
    }
    *wrote = true;
    return true;
}

void check_outputs(const std::string& out, const Part& part, PartState* state) {
    try {
        ManifestReader reader(part_file(out, part, ".manifest"));
        ManifestItem item;
        std::error_code ec;
        while (reader.next(&item)) {
            ++state->items;
            if (state->failed.count(item.input)) continue;
            for (const auto& o : item.outputs)
                if (!fs::is_regular_file(fs::path(out) / o, ec)) {
                    state->problem("missing output '" + o + "' of '" + item.input + "'");
                    break;
                }
        }
    } catch (const Error& e) {
        state->problem(e.what());
    }
}

int run(const MergeFlags& f, const GlobalOptions& g) {
    const fs::path parts_dir = fs::path(f.output) / kPartsFolder;
    std::error_code ec;
    const std::set<int> counts =
        fs::is_directory(parts_dir, ec) ? part_counts_present(parts_dir) : std::set<int>{};
    int num_parts = f.expect;
    if (num_parts == 0) {
        RV_CHECK(!counts.empty(), ErrorCode::kNotFound, "no part files in '", parts_dir.string(),
                 "' (pass --expect N to list every part of an N-part run as missing)");
        RV_CHECK(counts.size() == 1, ErrorCode::kInvalidArgument, "'", parts_dir.string(),
                 "' holds parts of runs with different --num-parts (", *counts.begin(), ", ",
                 *counts.rbegin(), "); pass --expect N to pick one");
        num_parts = *counts.begin();
    }
    for (int other : counts)
        if (other != num_parts && !g.quiet)
            std::cerr << "rwkv-vision: merge: ignoring the parts of a run with --num-parts " << other << "\n";

    // First the cheap checks: manifest, kind, failed lists.
    std::vector<PartState> states(static_cast<size_t>(num_parts));
    std::string kind;
    for (int k = 0; k < num_parts; ++k) {
        PartState& s = states[static_cast<size_t>(k)];
        const Part part{num_parts, k};
        try {
            const Manifest header = ManifestReader(part_file(f.output, part, ".manifest")).header();
            s.has_manifest = true;
            s.kind = header.kind;
            if (kind.empty()) kind = header.kind;
            if (header.kind != kind)
                s.problem("made by '" + header.kind + "', other parts by '" + kind + "'");
        } catch (const Error&) {
            s.problem("not run (no manifest)");
            continue;
        }
        const std::string failed_path = part_file(f.output, part, ".failed");
        if (fs::exists(failed_path, ec)) {
            for (const auto& item : read_failed_list(failed_path)) s.failed.insert(item.input);
            if (!f.allow_failed)
                s.problem(std::to_string(s.failed.size()) + " failed item(s), listed in " + failed_path);
        }
    }

    bool wrote = false;
    if (kind == "classify") {
        merge_classify(f.output, num_parts, states, &wrote);
    } else {
        for (int k = 0; k < num_parts; ++k)
            if (states[static_cast<size_t>(k)].problems.empty())
                check_outputs(f.output, Part{num_parts, k}, &states[static_cast<size_t>(k)]);
    }

    std::vector<int> missing;
    size_t items = 0, failed = 0;
    for (int k = 0; k < num_parts; ++k) {
        const PartState& s = states[static_cast<size_t>(k)];
        items += s.items;
        failed += s.failed.size();
        if (s.problems.empty()) continue;
        missing.push_back(k);
        for (const auto& p : s.problems) std::cerr << "rwkv-vision: merge: part " << k << ": " << p << "\n";
    }
    if (!missing.empty()) {
        std::string ids;
        for (int k : missing) ids += (ids.empty() ? "" : ",") + std::to_string(k);
        std::cerr << "rwkv-vision: merge: " << missing.size() << " of " << num_parts
                  << " parts missing or incomplete; resubmit these part ids: " << ids << "\n";
        std::cout << ids << "\n";
        // A results.csv from an earlier merge must not pass for this run's.
        if (kind == "classify") fs::remove(fs::path(f.output) / "results.csv", ec);
        return kExitSomeFailed;
    }
    if (!g.quiet) {
        std::cerr << "rwkv-vision: merge: " << num_parts << " parts, " << items << " items";
        if (failed) std::cerr << " (" << failed << " failed, accepted by --allow-failed)";
        if (wrote)
            std::cerr << " -> " << (fs::path(f.output) / "results.csv").string();
        else
            std::cerr << ", every expected output present";
        std::cerr << "\n";
    }
    return kExitOk;
}

}  // namespace

Runner add_merge(CLI::App& app, const GlobalOptions& global) {
    auto flags = std::make_shared<MergeFlags>();
    CLI::App* cmd = app.add_subcommand(
        "merge", "check the parts of a sharded run (--num-parts) and join classify's into OUT/results.csv");
    cmd->add_option("-o,--output", flags->output,
                    "the output folder the parts were written to (-o of the run)")
        ->required();
    cmd->add_option("--expect", flags->expect,
                    "the run's --num-parts: parts with no file at all are then reported too")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--allow-failed", flags->allow_failed,
                  "accept parts whose failed list is not empty (their failed items have no rows)");
    return [flags, &global] { return run(*flags, global); };
}

}  // namespace rv::apps
