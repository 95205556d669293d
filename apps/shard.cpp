// The shard contract of the batch subcommands: inputs, part selection, part files, manifest,
// failed lists and the per-item loop of output-file commands. Layer: apps.
#include "apps/shard.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/app_common.h"
#include "vision/core/error.h"
#include "vision/core/stop_signal.h"

namespace rv::apps {
namespace fs = std::filesystem;

void BatchFlags::add_to(CLI::App& cmd, const std::string& input_help, const std::string& output_help,
                        bool output_required) {
    cmd.add_option("-i,--input", input,
                   input_help + " (a folder is walked recursively; @list.txt: one path a line)")
        ->required();
    CLI::Option* out = cmd.add_option("-o,--output", output, output_help);
    if (output_required) out->required();
    cmd.add_option("--num-parts", num_parts,
                   "split the sorted inputs into N parts and run one of them (with --part-id); -o is then a "
                   "folder, per-part files go to OUT/_parts")
        ->check(CLI::PositiveNumber);
    cmd.add_option("--part-id", part_id, "which part to run, 0 <= K < N (e.g. $SLURM_ARRAY_TASK_ID)")
        ->check(CLI::NonNegativeNumber);
    CLI::Option* ow = cmd.add_flag("--overwrite", overwrite, "redo items whose outputs already exist");
    cmd.add_flag("--continue", resume, "skip items whose outputs exist (the default; kept for nnU-Net users)")
        ->excludes(ow);
}

void BatchFlags::validate() const {
    RV_CHECK(num_parts > 0 || part_id < 0, ErrorCode::kInvalidArgument,
             "--part-id needs --num-parts (the total number of parts is never read from the environment)");
    if (num_parts <= 0) return;
    RV_CHECK(part_id >= 0, ErrorCode::kInvalidArgument, "--num-parts ", num_parts,
             " needs --part-id K with 0 <= K < ", num_parts);
    RV_CHECK(part_id < num_parts, ErrorCode::kInvalidArgument, "--part-id ", part_id,
             " is out of range: with --num-parts ", num_parts, " it must be 0..", num_parts - 1);
    RV_CHECK(!output.empty() && output != "-", ErrorCode::kInvalidArgument,
             "--num-parts needs -o OUTPUT_FOLDER (the parts are written to OUTPUT_FOLDER/", kPartsFolder,
             ")");
}

Part BatchFlags::part() const { return sharded() ? Part{num_parts, part_id} : Part{}; }

namespace {

std::vector<std::string> read_list(const std::string& list_path) {
    std::ifstream f(list_path, std::ios::binary);
    RV_CHECK(f.good(), ErrorCode::kNotFound, "input list '", list_path,
             "' cannot be read (-i @FILE names a text file with one input path a line)");
    std::vector<std::string> items;
    std::string line;
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) items.push_back(line);
    }
    RV_CHECK(!f.bad(), ErrorCode::kIo, "error while reading the input list '", list_path, "'");
    return items;
}

std::vector<std::string> walk(const std::string& input, const ItemFilter& filter) {
    std::error_code ec;
    const auto st = fs::status(input, ec);
    RV_CHECK(!ec && fs::exists(st), ErrorCode::kNotFound, "input '", input, "' does not exist");
    std::vector<std::string> items;
    const auto is_file_item = [&](const std::string& p) {
        return filter.is_item_file ? filter.is_item_file(p) : has_image_extension(p);
    };
    if (fs::is_regular_file(st)) {
        items.push_back(input);
        return items;
    }
    RV_CHECK(fs::is_directory(st), ErrorCode::kInvalidArgument, "input '", input,
             "' is neither a file nor a folder");
    if (filter.is_item_folder && filter.is_item_folder(input)) {
        items.push_back(input);
        return items;
    }
    fs::recursive_directory_iterator it(input, fs::directory_options::skip_permission_denied, ec), end;
    RV_CHECK(!ec, ErrorCode::kIo, "cannot read folder '", input, "': ", ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) break;
        std::error_code fec;
        const std::string path = it->path().string();
        if (it->is_directory(fec)) {
            if (filter.is_item_folder && filter.is_item_folder(path)) {
                items.push_back(path);
                it.disable_recursion_pending();
            }
        } else if (it->is_regular_file(fec) && is_file_item(path)) {
            items.push_back(path);
        }
    }
    RV_CHECK(!ec, ErrorCode::kIo, "error while walking '", input, "': ", ec.message());
    return items;
}

}  // namespace

std::vector<std::string> collect_items(const std::string& spec, const ItemFilter& filter) {
    RV_CHECK(!spec.empty(), ErrorCode::kInvalidArgument, "-i needs a file, a folder or @list.txt");
    std::vector<std::string> items = spec[0] == '@' ? read_list(spec.substr(1)) : walk(spec, filter);
    std::sort(items.begin(), items.end());  // std::string compares bytes: locale-independent
    items.erase(std::unique(items.begin(), items.end()), items.end());
    return items;
}

std::vector<std::string> select_part(const std::vector<std::string>& sorted_items, const Part& part) {
    RV_CHECK(part.num_parts >= 1, ErrorCode::kInvalidArgument, "--num-parts must be at least 1, got ",
             part.num_parts);
    RV_CHECK(part.part_id >= 0 && part.part_id < part.num_parts, ErrorCode::kInvalidArgument, "--part-id ",
             part.part_id, " is out of range: with --num-parts ", part.num_parts, " it must be 0..",
             part.num_parts - 1);
    std::vector<std::string> mine;
    const auto n = static_cast<size_t>(part.num_parts);
    mine.reserve(sorted_items.size() / n + 1);
    for (size_t i = static_cast<size_t>(part.part_id); i < sorted_items.size(); i += n)
        mine.push_back(sorted_items[i]);
    return mine;
}

namespace {

// The part's lines of a list sorted strictly by bytes, streamed; false if the list is not.
bool stream_sorted_list(const std::string& list_path, const Part& part, std::vector<std::string>* mine,
                        size_t* count) {
    std::ifstream f(list_path, std::ios::binary);
    RV_CHECK(f.good(), ErrorCode::kNotFound, "input list '", list_path,
             "' cannot be read (-i @FILE names a text file with one input path a line)");
    std::string line, prev;
    size_t i = 0;
    const auto n = static_cast<size_t>(part.num_parts), k = static_cast<size_t>(part.part_id);
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        if (i > 0 && !(prev < line)) return false;
        if (i % n == k) mine->push_back(line);
        prev.swap(line);
        ++i;
    }
    RV_CHECK(!f.bad(), ErrorCode::kIo, "error while reading the input list '", list_path, "'");
    *count = i;
    return true;
}

}  // namespace

std::vector<std::string> collect_part(const std::string& spec, const Part& part, const ItemFilter& filter,
                                      size_t* total) {
    select_part({}, part);  // validates N and K
    if (!spec.empty() && spec[0] == '@') {
        std::vector<std::string> mine;
        size_t count = 0;
        if (stream_sorted_list(spec.substr(1), part, &mine, &count)) {
            if (total) *total = count;
            return mine;
        }
    }
    const std::vector<std::string> all = collect_items(spec, filter);
    if (total) *total = all.size();
    return select_part(all, part);
}

std::string item_relative_path(const std::string& spec, const std::string& item) {
    fs::path rel;
    if (!spec.empty() && spec[0] == '@') {
        for (const auto& c : fs::path(item).relative_path()) {
            RV_CHECK(c != "..", ErrorCode::kInvalidArgument, "list entry '", item,
                     "' has a '..' component: its output would land outside the output folder");
            if (c != "." && !c.empty()) rel /= c;
        }
    } else {
        std::error_code ec;
        if (fs::is_directory(spec, ec))
            rel = fs::path(item).lexically_relative(spec);
        else
            rel = fs::path(item).filename();
    }
    RV_CHECK(!rel.empty() && *rel.begin() != "..", ErrorCode::kInvalidArgument, "input '", item,
             "' is not inside '", spec, "'");
    return rel.string();
}

std::string part_stem(const Part& part) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "part-%05d-of-%05d", part.part_id, part.num_parts);
    return buf;
}

std::string part_file(const std::string& out_dir, const Part& part, const std::string& ext) {
    return (fs::path(out_dir) / kPartsFolder / (part_stem(part) + ext)).string();
}

bool parse_part_name(const std::string& filename, Part* part, std::string* ext) {
    // part-KKKKK-of-NNNNN<ext>: at least five digits each (more for N > 99999).
    if (filename.rfind("part-", 0) != 0) return false;
    size_t pos = 5;
    const auto number = [&](int* value) {
        const size_t begin = pos;
        long long v = 0;
        while (pos < filename.size() && filename[pos] >= '0' && filename[pos] <= '9' && pos - begin < 10) {
            v = v * 10 + (filename[pos] - '0');
            ++pos;
        }
        if (pos - begin < 5 || v > 0x7fffffff) return false;
        *value = static_cast<int>(v);
        return true;
    };
    Part p;
    if (!number(&p.part_id)) return false;
    if (filename.compare(pos, 4, "-of-") != 0) return false;
    pos += 4;
    if (!number(&p.num_parts)) return false;
    if (p.num_parts < 1 || p.part_id >= p.num_parts) return false;
    if (part) *part = p;
    if (ext) *ext = filename.substr(pos);
    return true;
}

std::string escape_field(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string unescape_field(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        const char c = s[++i];
        out += c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
    }
    return out;
}

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> fields;
    size_t begin = 0;
    for (;;) {
        const size_t tab = line.find('\t', begin);
        fields.push_back(unescape_field(line.substr(begin, tab == std::string::npos ? tab : tab - begin)));
        if (tab == std::string::npos) return fields;
        begin = tab + 1;
    }
}

constexpr const char* kManifestMagic = "# rwkv-vision manifest 1";

}  // namespace

void write_manifest(const std::string& out_dir, const Manifest& manifest) {
    std::ostringstream os;
    os << kManifestMagic << "\tkind=" << escape_field(manifest.kind) << "\tpart=" << manifest.part.part_id
       << "\tparts=" << manifest.part.num_parts << "\titems=" << manifest.items.size()
       << "\tsettings=" << escape_field(manifest.settings) << "\n";
    for (const auto& item : manifest.items) {
        os << escape_field(item.input);
        for (const auto& o : item.outputs) os << '\t' << escape_field(o);
        os << '\n';
    }
    const std::string text = os.str();
    write_atomically(part_file(out_dir, manifest.part, ".manifest"), [&](const std::string& tmp) {
        std::ofstream f(tmp, std::ios::binary);
        f << text;
        f.flush();
        RV_CHECK(f.good(), ErrorCode::kIo, "cannot write '", tmp, "' (disk full?)");
    });
}

ManifestReader::ManifestReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    RV_CHECK(in_.good(), ErrorCode::kNotFound, "cannot read the manifest '", path, "'");
    std::string line;
    RV_CHECK(std::getline(in_, line) && line.rfind(kManifestMagic, 0) == 0, ErrorCode::kCorruptFile, "'",
             path, "' is not an rwkv-vision manifest (first line)");
    long long items = -1;
    for (const auto& field : split_tabs(line)) {
        const size_t eq = field.find('=');
        if (eq == std::string::npos) continue;
        const std::string key = field.substr(0, eq), value = field.substr(eq + 1);
        try {
            if (key == "kind") header_.kind = value;
            if (key == "part") header_.part.part_id = std::stoi(value);
            if (key == "parts") header_.part.num_parts = std::stoi(value);
            if (key == "items") items = std::stoll(value);
            if (key == "settings") header_.settings = value;
        } catch (const std::exception&) {
            RV_THROW(ErrorCode::kCorruptFile, "manifest '", path, "': bad header field '", field, "'");
        }
    }
    RV_CHECK(!header_.kind.empty() && items >= 0, ErrorCode::kCorruptFile, "manifest '", path,
             "': header lacks kind= or items=");
    declared_ = static_cast<size_t>(items);
}

bool ManifestReader::next(ManifestItem* item) {
    std::string line;
    if (!std::getline(in_, line)) {
        RV_CHECK(read_ == declared_, ErrorCode::kCorruptFile, "manifest '", path_, "' lists ", read_,
                 " items, its header says ", declared_, " (truncated?)");
        return false;
    }
    ++read_;
    RV_CHECK(read_ <= declared_, ErrorCode::kCorruptFile, "manifest '", path_,
             "' lists more items than its header says (", declared_, ")");
    std::vector<std::string> fields = split_tabs(line);
    item->input = std::move(fields[0]);
    item->outputs.assign(std::make_move_iterator(fields.begin() + 1), std::make_move_iterator(fields.end()));
    return true;
}

Manifest read_manifest(const std::string& path) {
    ManifestReader reader(path);
    Manifest m = reader.header();
    m.items.reserve(reader.declared_items());
    ManifestItem item;
    while (reader.next(&item)) m.items.push_back(std::move(item));
    return m;
}

void write_failed_list(const std::string& out_dir, const Part& part, const std::vector<FailedItem>& failed) {
    const std::string path = part_file(out_dir, part, ".failed");
    if (failed.empty()) {
        std::error_code ec;
        fs::remove(path, ec);
        RV_CHECK(!ec, ErrorCode::kIo, "cannot remove the stale failed list '", path, "': ", ec.message());
        return;
    }
    std::string text;
    for (const auto& f : failed) text += escape_field(f.input) + '\t' + escape_field(f.error) + '\n';
    write_atomically(path, [&](const std::string& tmp) {
        std::ofstream f(tmp, std::ios::binary);
        f << text;
        f.flush();
        RV_CHECK(f.good(), ErrorCode::kIo, "cannot write '", tmp, "' (disk full?)");
    });
}

std::vector<FailedItem> read_failed_list(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    RV_CHECK(f.good(), ErrorCode::kNotFound, "cannot read the failed list '", path, "'");
    std::vector<FailedItem> out;
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty()) continue;
        std::vector<std::string> fields = split_tabs(line);
        out.push_back({fields[0], fields.size() > 1 ? fields[1] : std::string()});
    }
    return out;
}

bool outputs_exist(const std::vector<std::string>& paths, bool overwrite) {
    if (overwrite || paths.empty()) return false;
    std::error_code ec;
    return std::all_of(paths.begin(), paths.end(),
                       [&](const std::string& p) { return fs::is_regular_file(p, ec); });
}

int batch_exit_status(size_t failed) { return failed == 0 ? kExitOk : kExitSomeFailed; }

int run_output_items(
    const BatchFlags& flags, const std::string& kind, const std::vector<ManifestItem>& items,
    const std::function<void(const ManifestItem& item, const std::vector<std::string>& outputs)>& process,
    bool quiet) {
    flags.validate();
    const Part part = flags.part();
    if (flags.sharded()) write_manifest(flags.output, {kind, part, items, ""});
    std::vector<FailedItem> failed;
    size_t skipped = 0;
    Progress progress(items.size(), !quiet);
    size_t attempted = 0;
    for (const auto& item : items) {
        if (stop_requested()) break;  // SIGTERM/SIGINT: finish nothing new (outputs are atomic)
        ++attempted;
        progress.step(item.input);
        std::vector<std::string> outputs;
        outputs.reserve(item.outputs.size());
        for (const auto& o : item.outputs) outputs.push_back((fs::path(flags.output) / o).string());
        if (outputs_exist(outputs, flags.overwrite)) {
            ++skipped;
            continue;
        }
        std::string error;
        try {
            process(item, outputs);
        } catch (const std::bad_alloc&) {
            error = "out of memory";
        } catch (const std::exception& e) {
            error = e.what();
            if (error.empty()) error = "failed";
        }
        if (!error.empty()) {
            std::cerr << "rwkv-vision: " << item.input << ": " << error << "\n";
            failed.push_back({item.input, std::move(error)});
        }
    }
    progress.finish();
    if (flags.sharded()) write_failed_list(flags.output, part, failed);
    if (attempted < items.size()) {
        std::cerr << "rwkv-vision: stopped by a signal after " << attempted << " of " << items.size()
                  << " items; a rerun skips the finished ones\n";
        return kExitSomeFailed;
    }
    if (!quiet && skipped)
        std::cerr << "rwkv-vision: " << skipped << " of " << items.size()
                  << " items already had their outputs (skipped; --overwrite redoes them)\n";
    if (!failed.empty()) {
        std::cerr << "rwkv-vision: " << failed.size() << " of " << items.size() << " inputs failed";
        if (flags.sharded()) std::cerr << " (listed in " << part_file(flags.output, part, ".failed") << ")";
        std::cerr << "\n";
    }
    return batch_exit_status(failed.size());
}

}  // namespace rv::apps
