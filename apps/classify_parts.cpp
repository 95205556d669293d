// A resumable part of a sharded classify run, and the CSV helpers shared with merge. Layer: apps.
#include "apps/classify_parts.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "apps/app_common.h"
#include "vision/core/error.h"
#include "vision/core/stop_signal.h"

namespace rv::apps {
namespace fs = std::filesystem;

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string csv_rows(const std::string& file, const std::vector<metrics::Ranked>& top,
                     const std::vector<std::string>& labels) {
    std::ostringstream out;
    out << std::setprecision(6);
    const std::string name = csv_field(file);
    for (const auto& t : top)
        out << name << "," << t.index << "," << csv_field(labels[static_cast<size_t>(t.index)]) << ","
            << t.score << "\n";
    return out.str();
}

bool read_csv_record(std::istream& in, std::string* raw, std::string* first) {
    raw->clear();
    first->clear();
    std::string line;
    if (!std::getline(in, line)) return false;
    bool newline = !in.eof();
    // Fast path (merge reads millions of rows): a line without quotes is a whole record.
    if (line.find('"') == std::string::npos) {
        first->assign(line, 0, line.find(','));
        *raw = std::move(line);
        if (newline) raw->push_back('\n');
        return true;
    }
    bool in_quotes = false, first_done = false;
    for (;;) {
        for (size_t i = 0; i < line.size(); ++i) {
            const char c = line[i];
            if (c == '"') {
                // "" inside quotes is one literal quote.
                if (in_quotes && i + 1 < line.size() && line[i + 1] == '"') {
                    if (!first_done) first->push_back('"');
                    ++i;
                    continue;
                }
                in_quotes = !in_quotes;
                continue;
            }
            if (!in_quotes && c == ',') first_done = true;
            if (!first_done) first->push_back(c);
        }
        raw->append(line);
        if (newline) raw->push_back('\n');
        if (!in_quotes || !newline) return true;
        if (!first_done) first->push_back('\n');  // a line break inside a quoted field
        if (!std::getline(in, line)) return true;
        newline = !in.eof();
    }
}

namespace {

struct Record {
    enum State : uint8_t { kPending, kOk, kFailed } state = kPending;
    std::string payload;  // CSV rows (ok) or the error (failed); dropped once the chunk is committed
};

constexpr const char* kChunkMagic = "# rwkv-vision chunk 1";

uint64_t fnv1a(uint64_t h, const std::string& s) {
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    h ^= 0xff;  // separator: ("ab","c") and ("a","bc") differ
    return h * 1099511628211ull;
}

// Chunk j's file name carries a hash of its items and the settings: a checkpoint made for other
// inputs (files added since) or other settings is simply not found, and is recomputed.
std::string chunk_name(const ClassifyPart& job, size_t j) {
    uint64_t h = fnv1a(14695981039346656037ull, job.settings);
    const size_t end = std::min(job.items.size(), (j + 1) * job.chunk);
    for (size_t i = j * job.chunk; i < end; ++i) h = fnv1a(h, job.items[i]);
    char buf[64];
    std::snprintf(buf, sizeof buf, "chunk-%06zu-%016llx.txt", j, static_cast<unsigned long long>(h));
    return buf;
}

// The records of chunk j from its file, or nothing when absent or not for these items.
std::optional<std::vector<Record>> read_chunk(const fs::path& path, const ClassifyPart& job, size_t j) {
    std::ifstream f(path, std::ios::binary);
    if (!f.good()) return std::nullopt;
    const size_t begin = j * job.chunk, end = std::min(job.items.size(), begin + job.chunk);
    std::string line;
    if (!std::getline(f, line) || line.rfind(kChunkMagic, 0) != 0) return std::nullopt;
    std::vector<Record> records;
    for (size_t i = begin; i < end; ++i) {
        if (!std::getline(f, line)) return std::nullopt;
        const size_t t1 = line.find('\t'), t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
        if (t2 == std::string::npos || unescape_field(line.substr(0, t1)) != job.items[i])
            return std::nullopt;
        const std::string state = line.substr(t1 + 1, t2 - t1 - 1);
        if (state != "ok" && state != "failed") return std::nullopt;
        records.push_back(
            {state == "ok" ? Record::kOk : Record::kFailed, unescape_field(line.substr(t2 + 1))});
    }
    return records;
}

void write_text(const std::string& path, const std::string& text) {
    write_atomically(path, [&](const std::string& tmp) {
        std::ofstream f(tmp, std::ios::binary);
        f << text;
        f.flush();
        RV_CHECK(f.good(), ErrorCode::kIo, "cannot write '", tmp, "' (disk full?)");
    });
}

void write_chunk(const fs::path& path, const ClassifyPart& job, size_t j, const std::vector<Record>& rec) {
    const size_t begin = j * job.chunk, end = std::min(job.items.size(), begin + job.chunk);
    std::string text = kChunkMagic;
    text += "\titems=" + std::to_string(end - begin) + "\n";
    for (size_t i = begin; i < end; ++i) {
        RV_ASSERT(rec[i].state != Record::kPending);
        text += escape_field(job.items[i]);
        text += rec[i].state == Record::kOk ? "\tok\t" : "\tfailed\t";
        text += escape_field(rec[i].payload);
        text += '\n';
    }
    write_text(path.string(), text);
}

bool part_complete(const ClassifyPart& job) {
    std::error_code ec;
    if (!fs::is_regular_file(part_file(job.out_dir, job.part, ".csv"), ec) ||
        fs::exists(part_file(job.out_dir, job.part, ".failed"), ec))
        return false;
    try {
        const Manifest m = read_manifest(part_file(job.out_dir, job.part, ".manifest"));
        if (m.kind != "classify" || m.settings != job.settings || m.items.size() != job.items.size())
            return false;
        for (size_t i = 0; i < m.items.size(); ++i)
            if (m.items[i].input != job.items[i]) return false;
        return true;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

int run_classify_part(const ClassifyPart& job, const ComputeItems& compute) {
    RV_CHECK(job.chunk > 0, ErrorCode::kInvalidArgument, "--chunk must be at least 1");
    const std::string tag =
        "rwkv-vision: part " + std::to_string(job.part.part_id) + " of " + std::to_string(job.part.num_parts);
    if (!job.overwrite && part_complete(job)) {
        if (!job.quiet)
            std::cerr << tag << ": already complete (" << job.items.size()
                      << " images; --overwrite redoes it)\n";
        return kExitOk;
    }
    Manifest manifest{"classify", job.part, {}, job.settings};
    manifest.items.reserve(job.items.size());
    for (const auto& item : job.items) manifest.items.push_back({item, {}});
    write_manifest(job.out_dir, manifest);  // creates OUT/_parts

    const fs::path chunk_dir = part_file(job.out_dir, job.part, ".chunks");
    std::error_code ec;
    if (job.overwrite) fs::remove_all(chunk_dir, ec);
    fs::create_directories(chunk_dir, ec);
    RV_CHECK(!ec, ErrorCode::kIo, "cannot create '", chunk_dir.string(), "': ", ec.message());

    // Reuse finished checkpoints: items done ok are kept, failed ones are tried again.
    const size_t n = job.items.size(), chunks = (n + job.chunk - 1) / job.chunk;
    std::vector<Record> rec(n);
    std::vector<size_t> remaining(chunks, 0);
    std::vector<std::string> pending;
    std::vector<size_t> pending_index;
    for (size_t j = 0; j < chunks; ++j) {
        const size_t begin = j * job.chunk, end = std::min(n, begin + job.chunk);
        if (auto old = read_chunk(chunk_dir / chunk_name(job, j), job, j)) {
            bool all_ok = true;
            for (size_t i = begin; i < end; ++i) {
                Record& r = (*old)[i - begin];
                all_ok = all_ok && r.state == Record::kOk;
                if (r.state == Record::kOk) rec[i] = std::move(r);
            }
            if (all_ok)  // committed and complete: only its state is needed until the end
                for (size_t i = begin; i < end; ++i) std::string().swap(rec[i].payload);
        }
        for (size_t i = begin; i < end; ++i)
            if (rec[i].state != Record::kOk) {
                pending.push_back(job.items[i]);
                pending_index.push_back(i);
                ++remaining[j];
            }
    }
    if (!job.quiet)
        std::cerr << tag << ": " << n << " images, " << (n - pending.size()) << " already done, "
                  << pending.size() << " to run\n";

    if (!pending.empty())
        compute(pending, [&](size_t p, bool ok, const std::string& payload) {
            RV_ASSERT(p < pending_index.size());
            const size_t i = pending_index[p], j = i / job.chunk;
            RV_ASSERT(rec[i].state == Record::kPending && remaining[j] > 0);
            rec[i] = {ok ? Record::kOk : Record::kFailed, payload};
            if (--remaining[j] == 0) {  // commit the chunk, then drop its rows from memory
                write_chunk(chunk_dir / chunk_name(job, j), job, j, rec);
                const size_t begin = j * job.chunk, end = std::min(n, begin + job.chunk);
                for (size_t k = begin; k < end; ++k)
                    if (rec[k].state == Record::kOk) std::string().swap(rec[k].payload);
            }
        });
    // Stopped by SIGTERM/SIGINT (Slurm's requeue, scancel, preemption): the committed chunks stay
    // for the restart; nothing else is written. main turns the status into 128 + signal.
    if (stop_requested()) {
        size_t committed = 0;
        for (size_t j = 0; j < chunks; ++j) committed += remaining[j] == 0 ? 1 : 0;
        std::cerr << tag << ": stopped by a signal; " << committed << " of " << chunks
                  << " checkpoints committed, a rerun continues from there\n";
        return kExitSomeFailed;
    }
    std::vector<FailedItem> failed;
    for (size_t i = 0; i < n; ++i) {
        RV_ASSERT(rec[i].state != Record::kPending);
        if (rec[i].state == Record::kFailed) failed.push_back({job.items[i], rec[i].payload});
    }

    // The part CSV from the committed chunks, in item order. A failed list goes first, so a part
    // CSV without one is complete; a stale one is removed only after the complete CSV is in place.
    if (!failed.empty()) write_failed_list(job.out_dir, job.part, failed);
    bool vanished = false;
    try {
        write_atomically(part_file(job.out_dir, job.part, ".csv"), [&](const std::string& tmp) {
            std::ofstream f(tmp, std::ios::binary);
            f << kClassifyCsvHeader;
            for (size_t j = 0; j < chunks && !vanished; ++j) {
                auto records = read_chunk(chunk_dir / chunk_name(job, j), job, j);
                if (!records) {
                    vanished = true;  // a racing copy of this task finished the part and cleaned up
                    break;
                }
                for (const auto& r : *records)
                    if (r.state == Record::kOk) f << r.payload;
            }
            f.flush();
            RV_CHECK(f.good(), ErrorCode::kIo, "cannot write '", tmp, "' (disk full?)");
            if (vanished) RV_THROW(ErrorCode::kIo, "checkpoint files of ", part_stem(job.part), " vanished");
        });
    } catch (const Error&) {
        if (!vanished || !part_complete(job)) throw;
        if (!job.quiet) std::cerr << tag << ": finished meanwhile by another copy of this task\n";
        return kExitOk;
    }
    if (failed.empty()) {
        write_failed_list(job.out_dir, job.part, failed);
        fs::remove_all(chunk_dir, ec);
    }
    if (!job.quiet) {
        std::cerr << tag << ": wrote " << part_file(job.out_dir, job.part, ".csv");
        if (!failed.empty())
            std::cerr << "; " << failed.size() << " of " << n << " images failed (listed in "
                      << part_file(job.out_dir, job.part, ".failed") << ")";
        std::cerr << "\n";
    }
    return batch_exit_status(failed.size());
}

}  // namespace rv::apps
