// The shard contract of the batch commands, as a cluster task meets it (apps/shard.h,
// docs/scale-out.md): which images a part owns, @list inputs, usage errors (exit 2), resume and
// --overwrite, the failed list (exit 3), and `merge`: byte-identical to an unsharded CSV, missing
// parts named by id, manifests of output-file commands checked.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "tests/apps/cli_runner.h"
#include "vision/image/image.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;

const std::string kTinyPth = "tests/fixtures/models/tiny_pre.pth";
const std::string kTinyCfg = "tests/fixtures/models/tiny_pre.json";

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

// The inputs a part ran, from its manifest (first field of every line after the header).
std::vector<std::string> manifest_items(const std::string& path) {
    std::vector<std::string> items = lines_of(slurp(path));
    if (!items.empty()) items.erase(items.begin());
    for (auto& i : items) i = i.substr(0, i.find('\t'));
    return items;
}

image::Image8 noise_image(int h, int w, unsigned seed) {
    image::Image8 img{h, w, 3, {}};
    img.pixels.resize(static_cast<size_t>(h * w * 3));
    std::mt19937 rng(seed);
    for (auto& p : img.pixels) p = static_cast<uint8_t>(rng() & 0xff);
    return img;
}

class Shard : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = make_temp_dir("shard");
        ASSERT_FALSE(dir_.empty());
        in_ = dir_ + "/in";
        out_ = dir_ + "/out";
        fs::create_directories(in_ + "/b");
        // Names whose byte order differs from a locale's ("B" < "a" < "b"; "_" between).
        const std::vector<std::string> names = {"a1.png",  "B2.png", "b/c3.png", "b/C4.png",
                                                "a_5.png", "d6.png", "e7.png"};
        unsigned seed = 1;
        for (const auto& n : names) {
            image::save_png(in_ + "/" + n, noise_image(20 + static_cast<int>(seed), 24, seed));
            ++seed;
        }
    }
    void TearDown() override { fs::remove_all(dir_); }

    // classify with the tiny model, top-3 unless extra names --topk; -q unless verbose.
    std::vector<std::string> classify(std::vector<std::string> extra, bool verbose = false) const {
        std::vector<std::string> a = {"classify", "-m", kTinyPth, "--config", kTinyCfg};
        if (!verbose) a.push_back("-q");
        if (std::find(extra.begin(), extra.end(), "--topk") == extra.end())
            a.insert(a.end(), {"--topk", "3"});
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    // Part K of N (messages on stderr: "part K of N: X images, D already done, P to run").
    CliResult part(int k, int n, std::vector<std::string> extra = {}, const std::string& input = "") const {
        extra.insert(extra.begin(), {"-i", input.empty() ? in_ : input, "-o", out_, "--num-parts",
                                     std::to_string(n), "--part-id", std::to_string(k)});
        return run_cli(classify(extra, /*verbose=*/true));
    }
    std::string unsharded_csv(const std::string& input = "") const {
        const std::string file = dir_ + "/unsharded.csv";
        const auto r = run_cli(classify({"-i", input.empty() ? in_ : input, "--format", "csv", "-o", file}));
        EXPECT_TRUE(r.status == 0 || r.status == 3) << r.err;
        return slurp(file);
    }
    std::string part_path(int k, int n, const std::string& ext) const {
        char buf[64];
        std::snprintf(buf, sizeof buf, "/_parts/part-%05d-of-%05d", k, n);
        return out_ + buf + ext;
    }
    std::string dir_, in_, out_;
};

TEST_F(Shard, PartsAreStridedSlicesOfTheByteSortedInputs) {
    std::vector<std::string> all;
    for (const auto& e : fs::recursive_directory_iterator(in_))
        if (e.is_regular_file()) all.push_back(e.path().string());
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), 7u);
    std::set<std::string> seen;
    for (int k = 0; k < 3; ++k) {
        const auto r = part(k, 3);
        ASSERT_EQ(r.status, 0) << r.err;
        const auto items = manifest_items(part_path(k, 3, ".manifest"));
        std::vector<std::string> expected;
        for (size_t i = static_cast<size_t>(k); i < all.size(); i += 3) expected.push_back(all[i]);
        EXPECT_EQ(items, expected) << "part " << k;
        for (const auto& i : items) EXPECT_TRUE(seen.insert(i).second) << i << " in two parts";
        // The same part again selects the same images (and finds them done).
        const auto again = part(k, 3);
        EXPECT_EQ(again.status, 0);
        EXPECT_NE(again.err.find("already complete"), std::string::npos) << again.err;
        EXPECT_EQ(manifest_items(part_path(k, 3, ".manifest")), expected);
    }
    EXPECT_EQ(seen.size(), all.size());
}

TEST_F(Shard, MoreNodesThanImagesGivesEmptyPartsThatMergeCleanly) {
    for (int k = 0; k < 9; ++k) ASSERT_EQ(part(k, 9).status, 0) << k;
    EXPECT_EQ(slurp(part_path(8, 9, ".csv")), "filename,index,label,score\n");
    const auto m = run_cli({"merge", "-q", "-o", out_});
    ASSERT_EQ(m.status, 0) << m.err;
    EXPECT_EQ(slurp(out_ + "/results.csv"), unsharded_csv());
}

TEST_F(Shard, ListInputIsSortedDeduplicatedAndMatchesTheFolder) {
    // Unsorted, a duplicate, CRLF line ends and a blank line: the same images as the folder.
    std::vector<std::string> all;
    for (const auto& e : fs::recursive_directory_iterator(in_))
        if (e.is_regular_file()) all.push_back(e.path().string());
    std::sort(all.rbegin(), all.rend());
    {
        std::ofstream list(dir_ + "/list.txt", std::ios::binary);
        for (const auto& f : all) list << f << "\r\n";
        list << "\n" << all[0] << "\n";
    }
    const std::string from_list = unsharded_csv("@" + dir_ + "/list.txt");
    EXPECT_EQ(from_list, unsharded_csv());
    EXPECT_EQ(std::count(from_list.begin(), from_list.end(), '\n'), 1 + 7 * 3);
    for (int k = 0; k < 2; ++k) ASSERT_EQ(part(k, 2, {}, "@" + dir_ + "/list.txt").status, 0);
    ASSERT_EQ(run_cli({"merge", "-q", "-o", out_}).status, 0);
    EXPECT_EQ(slurp(out_ + "/results.csv"), from_list);
    // A listed file that does not exist fails as an item, and the list itself must exist.
    std::ofstream(dir_ + "/list.txt", std::ios::app) << in_ << "/missing.png\n";
    EXPECT_EQ(run_cli(classify({"-i", "@" + dir_ + "/list.txt", "--format", "csv"})).status, 3);
    EXPECT_EQ(run_cli(classify({"-i", "@" + dir_ + "/no-such-list.txt"})).status, 1);
}

TEST_F(Shard, SortedListIsStreamedToTheSameParts) {
    // A list already in byte order without duplicates is streamed (memory per part, not per job):
    // each part must still be exactly the folder's part.
    std::vector<std::string> all;
    for (const auto& e : fs::recursive_directory_iterator(in_))
        if (e.is_regular_file()) all.push_back(e.path().string());
    std::sort(all.begin(), all.end());
    {
        std::ofstream list(dir_ + "/sorted.txt", std::ios::binary);
        for (const auto& f : all) list << f << "\n";
    }
    for (int k = 0; k < 3; ++k) {
        ASSERT_EQ(part(k, 3).status, 0);
        const auto from_dir = manifest_items(part_path(k, 3, ".manifest"));
        ASSERT_EQ(part(k, 3, {"--overwrite"}, "@" + dir_ + "/sorted.txt").status, 0);
        EXPECT_EQ(manifest_items(part_path(k, 3, ".manifest")), from_dir) << "part " << k;
    }
    ASSERT_EQ(run_cli({"merge", "-q", "-o", out_}).status, 0);
    EXPECT_EQ(slurp(out_ + "/results.csv"), unsharded_csv());
}

TEST_F(Shard, InvalidPartArgumentsAreUsageErrors) {
    EXPECT_EQ(part(3, 3).status, 2);   // K must be < N
    EXPECT_EQ(part(-1, 3).status, 2);  // K >= 0
    EXPECT_EQ(part(0, 0).status, 2);   // N >= 1
    const auto no_n = run_cli(classify({"-i", in_, "-o", out_, "--part-id", "1"}));
    EXPECT_EQ(no_n.status, 2);
    EXPECT_NE(no_n.err.find("--num-parts"), std::string::npos) << no_n.err;
    EXPECT_EQ(run_cli(classify({"-i", in_, "--num-parts", "2", "--part-id", "0"})).status, 2);  // no -o
    EXPECT_EQ(run_cli(classify({"-i", in_, "-o", out_, "--num-parts", "2"})).status, 2);        // no K
    EXPECT_EQ(part(0, 2, {"--format", "json"}).status, 2);
    EXPECT_EQ(part(0, 2, {"--overwrite", "--continue"}).status, 2);
    EXPECT_EQ(part(0, 2, {"--continue"}).status, 0);
    EXPECT_FALSE(fs::exists(part_path(0, 3, ".csv")));
    EXPECT_EQ(run_cli({"merge", "-o", out_, "--expect", "0"}).status, 2);
}

TEST_F(Shard, MergeIsByteIdenticalToAnUnshardedRun) {
    for (int k = 0; k < 3; ++k) ASSERT_EQ(part(k, 3).status, 0);
    const auto m = run_cli({"merge", "-o", out_, "--expect", "3"});
    ASSERT_EQ(m.status, 0) << m.err;
    EXPECT_EQ(m.out, "");
    const std::string merged = slurp(out_ + "/results.csv");
    EXPECT_EQ(merged, unsharded_csv());
    EXPECT_EQ(std::count(merged.begin(), merged.end(), '\n'), 1 + 7 * 3);
    // Thread count and mode do not change a byte either.
    ASSERT_EQ(part(1, 3, {"--overwrite", "--threads", "1", "--mode", "latency", "--chunk", "1"}).status, 0);
    ASSERT_EQ(run_cli({"merge", "-q", "-o", out_}).status, 0);
    EXPECT_EQ(slurp(out_ + "/results.csv"), merged);
}

TEST_F(Shard, MergeReadsQuotedFilenames) {
    // A comma, a quote and a line break in a path: CSV-quoted rows, one record over two lines.
    image::save_png(in_ + "/b/x,y.png", noise_image(21, 21, 11));
    image::save_png(in_ + "/b/say \"hi\".png", noise_image(22, 21, 12));
    image::save_png(in_ + "/b/two\nlines.png", noise_image(23, 21, 13));
    for (int k = 0; k < 3; ++k) ASSERT_EQ(part(k, 3).status, 0);
    const auto m = run_cli({"merge", "-o", out_});
    ASSERT_EQ(m.status, 0) << m.err;
    const std::string merged = slurp(out_ + "/results.csv");
    EXPECT_EQ(merged, unsharded_csv());
    EXPECT_NE(merged.find("x,y.png\","), std::string::npos);
    EXPECT_NE(merged.find("say \"\"hi\"\".png\","), std::string::npos);
}

TEST_F(Shard, MergeNamesMissingPartsAndWritesNothing) {
    ASSERT_EQ(part(0, 4).status, 0);
    ASSERT_EQ(part(2, 4).status, 0);
    const auto m = run_cli({"merge", "-o", out_});
    EXPECT_EQ(m.status, 3);
    EXPECT_EQ(m.out, "1,3\n");  // the array indices to resubmit, for scripts
    EXPECT_NE(m.err.find("part 1: not run"), std::string::npos) << m.err;
    EXPECT_FALSE(fs::exists(out_ + "/results.csv"));
    // --expect names parts no task has touched at all.
    const auto more = run_cli({"merge", "-q", "-o", out_, "--expect", "6"});
    EXPECT_EQ(more.status, 3);
    EXPECT_EQ(more.out, "0,1,2,3,4,5\n");
    // No parts at all: an error (exit 1); with --expect every part is listed as missing.
    EXPECT_EQ(run_cli({"merge", "-q", "-o", dir_ + "/empty"}).status, 1);
    EXPECT_EQ(run_cli({"merge", "-q", "-o", dir_ + "/empty", "--expect", "2"}).out, "0,1\n");
    // A part whose results lost an image (edited by hand) is incomplete, not merged.
    ASSERT_EQ(part(1, 4).status, 0);
    ASSERT_EQ(part(3, 4).status, 0);
    ASSERT_EQ(run_cli({"merge", "-q", "-o", out_}).status, 0);
    std::vector<std::string> rows = lines_of(slurp(part_path(3, 4, ".csv")));
    ASSERT_GT(rows.size(), 3u);
    {
        std::ofstream f(part_path(3, 4, ".csv"), std::ios::binary);
        for (size_t i = 0; i + 3 < rows.size(); ++i) f << rows[i] << "\n";  // drop the last image's rows
    }
    const auto torn = run_cli({"merge", "-o", out_});
    EXPECT_EQ(torn.status, 3);
    EXPECT_EQ(torn.out, "3\n");
    EXPECT_NE(torn.err.find("no results for"), std::string::npos) << torn.err;
    EXPECT_FALSE(fs::exists(out_ + "/results.csv")) << "a stale results.csv must not outlive a failed merge";
}

TEST_F(Shard, FailedImagesAreListedAndAResubmitCompletesThePart) {
    std::ofstream(in_ + "/b/broken.png") << "not a png";
    // 8 inputs, part 1 of 2 holds broken.png (sorted position 5: B2 a1 a_5 b/C4 b/broken b/c3 ...).
    int broken_part = -1;
    for (int k = 0; k < 2; ++k) {
        const auto r = part(k, 2, {"--chunk", "2"});
        if (r.status == 3)
            broken_part = k;
        else
            EXPECT_EQ(r.status, 0) << r.err;
    }
    ASSERT_GE(broken_part, 0);
    const std::string failed = slurp(part_path(broken_part, 2, ".failed"));
    EXPECT_NE(failed.find("b/broken.png\t"), std::string::npos) << failed;
    const auto m = run_cli({"merge", "-o", out_});
    EXPECT_EQ(m.status, 3);
    EXPECT_EQ(m.out, std::to_string(broken_part) + "\n");
    // Accepting the failure merges what there is: the unsharded CSV (which also omits it).
    ASSERT_EQ(run_cli({"merge", "-q", "-o", out_, "--allow-failed"}).status, 0);
    EXPECT_EQ(slurp(out_ + "/results.csv"), unsharded_csv());

    // Fix the file and resubmit that index: only the failed image runs again.
    image::save_png(in_ + "/b/broken.png", noise_image(30, 30, 99));
    const auto again = part(broken_part, 2, {"--chunk", "2"});
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_NE(again.err.find("3 already done, 1 to run"), std::string::npos) << again.err;
    EXPECT_FALSE(fs::exists(part_path(broken_part, 2, ".failed")));
    EXPECT_FALSE(fs::exists(part_path(broken_part, 2, ".chunks")));
    ASSERT_EQ(run_cli({"merge", "-q", "-o", out_}).status, 0);
    EXPECT_EQ(slurp(out_ + "/results.csv"), unsharded_csv());
}

TEST_F(Shard, FinishedPartsAreSkippedUnlessOverwriteOrOtherSettings) {
    ASSERT_EQ(part(0, 1).status, 0);
    const std::string first = slurp(part_path(0, 1, ".csv"));
    auto r = part(0, 1);
    EXPECT_NE(r.err.find("already complete"), std::string::npos) << r.err;
    r = part(0, 1, {"--overwrite"});
    EXPECT_NE(r.err.find("0 already done, 7 to run"), std::string::npos) << r.err;
    EXPECT_EQ(slurp(part_path(0, 1, ".csv")), first);
    r = part(0, 1, {"--topk", "1"});  // other settings: redone, not reused
    EXPECT_NE(r.err.find("0 already done, 7 to run"), std::string::npos) << r.err;
    const std::string top1 = slurp(part_path(0, 1, ".csv"));
    EXPECT_EQ(std::count(top1.begin(), top1.end(), '\n'), 1 + 7);
    // A new image joins the inputs: the finished part is stale and is redone.
    image::save_png(in_ + "/f8.png", noise_image(22, 22, 8));
    r = part(0, 1);
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.err.find("8 images"), std::string::npos) << r.err;
}

TEST_F(Shard, MergeChecksTheOutputsOfOutputFileCommands) {
    // A restore-style part, written as run_output_items writes it: its manifest names each output.
    fs::create_directories(out_ + "/_parts");
    fs::create_directories(out_ + "/x");
    {
        std::ofstream m(part_path(0, 2, ".manifest"), std::ios::binary);
        m << "# rwkv-vision manifest 1\tkind=restore\tpart=0\tparts=2\titems=2\tsettings=\n"
          << "in/a.png\tx/a.png\n"
          << "in/tab\\tname.png\tx/tab\\tname.png\n";
        std::ofstream s(part_path(1, 2, ".manifest"), std::ios::binary);
        s << "# rwkv-vision manifest 1\tkind=restore\tpart=1\tparts=2\titems=1\tsettings=\n"
          << "in/b.png\tx/b.png\n";
    }
    std::ofstream(out_ + "/x/a.png") << "a";
    std::ofstream(out_ + "/x/b.png") << "b";
    auto m = run_cli({"merge", "-o", out_});
    EXPECT_EQ(m.status, 3);
    EXPECT_EQ(m.out, "0\n");
    EXPECT_NE(m.err.find("missing output 'x/tab\tname.png'"), std::string::npos) << m.err;
    std::ofstream(out_ + "/x/tab\tname.png") << "c";
    m = run_cli({"merge", "-o", out_});
    EXPECT_EQ(m.status, 0) << m.err;
    EXPECT_FALSE(fs::exists(out_ + "/results.csv"));
    // A truncated manifest (fewer items than its header says) is an incomplete part.
    {
        std::ofstream s(part_path(1, 2, ".manifest"), std::ios::binary);
        s << "# rwkv-vision manifest 1\tkind=restore\tpart=1\tparts=2\titems=2\tsettings=\n"
          << "in/b.png\tx/b.png\n";
    }
    m = run_cli({"merge", "-o", out_});
    EXPECT_EQ(m.status, 3);
    EXPECT_EQ(m.out, "1\n");
}

}  // namespace
}  // namespace rv::test
