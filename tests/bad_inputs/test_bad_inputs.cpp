// Bad inputs through the command line, as a user meets them: truncated and garbage files of each
// format, huge declared sizes, non-finite weights, wrong shapes, empty folders, special files,
// non-UTF-8 names and limits. Each must end with its documented exit status (README "Exit
// status") and a message naming the file; none may end by a signal or hang.
// Bad files are generated here at test time from the committed fixtures.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "tests/apps/cli_runner.h"

namespace rv::test {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<char>;

const std::string kPth = "tests/fixtures/models/tiny_pre.pth";
const std::string kCfg = "tests/fixtures/models/tiny_pre.json";
const std::string kPng = "tests/fixtures/cli/smarties_33x33.png";
const std::string kJpg = "tests/fixtures/cli/home_45x57.jpg";

Bytes read_file(const std::string& path) {
    std::ifstream in(std::string(RV_SOURCE_DIR) + "/" + path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const Bytes& b) {
    std::ofstream(path, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
}

void write_text(const std::string& path, const std::string& s) {
    write_file(path, Bytes(s.begin(), s.end()));
}

Bytes garbage(size_t n, unsigned seed) {
    Bytes b(n);
    for (auto& c : b) {
        seed = seed * 1103515245u + 12345u;
        c = static_cast<char>(seed >> 16);
    }
    return b;
}

// The contract of every case: the documented status, no signal, a message naming `name`.
void expect_status(const CliResult& r, int status, const std::string& name, const std::string& also = "") {
    EXPECT_LT(r.status, 128) << "ended by signal " << r.status - 128 << "\n" << r.err;
    EXPECT_EQ(r.status, status) << r.err;
    EXPECT_NE(r.err.find(name), std::string::npos) << "message does not name '" << name << "':\n" << r.err;
    if (!also.empty()) {
        EXPECT_NE(r.err.find(also), std::string::npos) << "no '" << also << "' in:\n" << r.err;
    }
}

class BadInputs : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = make_temp_dir("bad");
        ASSERT_FALSE(dir_.empty());
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    CliResult classify_with(const std::string& weights, const std::string& input,
                            std::vector<std::string> extra = {}) const {
        std::vector<std::string> a = {"classify", "-q", "-m", weights, "--config", kCfg, "-i", input};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_cli(a);
    }
    CliResult classify(const std::string& input, std::vector<std::string> extra = {}) const {
        return classify_with(kPth, input, std::move(extra));
    }
    std::string dir_;
};

// ---- weights ------------------------------------------------------------------------------

TEST_F(BadInputs, TruncatedCheckpointsAreFatal) {
    const Bytes pth = read_file(kPth);
    for (const size_t keep :
         {size_t{0}, size_t{3}, size_t{30}, pth.size() / 2, pth.size() - 22, pth.size() - 1}) {
        const std::string p = path("trunc_" + std::to_string(keep) + ".pth");
        write_file(p, Bytes(pth.begin(), pth.begin() + static_cast<std::ptrdiff_t>(keep)));
        SCOPED_TRACE(p);
        expect_status(classify_with(p, kPng), 1, p);
    }
}

TEST_F(BadInputs, GarbageCheckpointsAreFatal) {
    const std::string zipish = path("garbage_zip.pth"), random = path("random.pth"),
                      st = path("garbage.safetensors");
    Bytes z = garbage(4096, 1);
    std::memcpy(z.data(), "PK\x03\x04", 4);
    write_file(zipish, z);
    write_file(random, garbage(4096, 2));
    Bytes s = garbage(4096, 3);
    const char header[] = {16, 0, 0, 0, 0, 0, 0, 0, '{'};
    std::memcpy(s.data(), header, sizeof header);
    write_file(st, s);
    for (const auto& p : {zipish, random, st}) {
        SCOPED_TRACE(p);
        expect_status(classify_with(p, kPng), 1, p);
    }
}

TEST_F(BadInputs, HugeDeclaredSafetensorsHeaderIsFatal) {
    const std::string p = path("huge_header.safetensors");
    Bytes b = {0, 0, 0, 0, 0, 0, 0, 0x10, '{', '}'};  // header length 2^60
    write_file(p, b);
    expect_status(classify_with(p, kPng), 1, p);
}

// Converts the fixture to safetensors (F32, data at the end), then poisons its last float.
TEST_F(BadInputs, NonFiniteWeightsAreFatalAndNamed) {
    const std::string good = path("good.safetensors");
    const auto conv = run_cli({"convert", kPth, good, "--config", kCfg});
    ASSERT_EQ(conv.status, 0) << conv.err;
    ASSERT_EQ(classify_with(good, kPng).status, 0);
    std::ifstream in(good, std::ios::binary);
    Bytes b{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    ASSERT_GT(b.size(), 16u);
    for (const float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
        const std::string p = path(std::isnan(bad) ? "nan.safetensors" : "inf.safetensors");
        std::memcpy(b.data() + b.size() - 4, &bad, 4);
        write_file(p, b);
        SCOPED_TRACE(p);
        expect_status(classify_with(p, kPng), 1, p, "must be finite");
    }
}

TEST_F(BadInputs, WrongShapesAreFatal) {
    // The fixture's weights against a config with wider layers.
    std::ifstream in(std::string(RV_SOURCE_DIR) + "/" + kCfg);
    std::string cfg{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto at = cfg.find("\"embed_dims\": 16");
    ASSERT_NE(at, std::string::npos);
    cfg.replace(at, 16, "\"embed_dims\": 24");
    const std::string c = path("wide.json");
    write_text(c, cfg);
    const auto r = run_cli({"classify", "-q", "-m", kPth, "--config", c, "-i", kPng});
    expect_status(r, 1, kPth, "shape");
}

TEST_F(BadInputs, BadConfigsAreUsageErrors) {
    const std::string junk = path("junk.json"), unknown = path("unknown.json");
    write_text(junk, "{\"depth\": [[[[[[");
    write_text(unknown, "{\"depth\": 2, \"no_such_field\": 1}");
    for (const auto& c : {junk, unknown}) {
        SCOPED_TRACE(c);
        expect_status(run_cli({"classify", "-q", "-m", kPth, "--config", c, "-i", kPng}), 2, c);
    }
}

TEST_F(BadInputs, WeightsPathThatIsNotAFile) {
    expect_status(classify_with(dir_, kPng), 2, dir_);  // a directory: the wrong kind of argument
    expect_status(classify_with(path("missing.pth"), kPng), 1, "missing.pth");
    const std::string fifo = path("fifo.pth");
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    expect_status(classify_with(fifo, kPng), 2, fifo);  // must not block on a FIFO with no writer
}

// ---- images -------------------------------------------------------------------------------

TEST_F(BadInputs, DamagedImagesFailAloneWithStatus3) {
    const std::string folder = path("imgs");
    fs::create_directories(folder);
    fs::copy_file(std::string(RV_SOURCE_DIR) + "/" + kPng, folder + "/good.png");
    const Bytes png = read_file(kPng), jpg = read_file(kJpg);
    write_file(folder + "/empty.png", {});
    write_file(folder + "/trunc.png", Bytes(png.begin(), png.begin() + 40));
    write_file(folder + "/garbage.jpg", garbage(2000, 4));
    write_file(folder + "/header_only.jpg", Bytes(jpg.begin(), jpg.begin() + 2));
    write_text(folder + "/text.bmp", "BM this is not a bitmap");
    Bytes huge = png;  // IHDR width and height set to 100000 x 100000
    const unsigned char side[4] = {0x00, 0x01, 0x86, 0xA0};
    std::memcpy(huge.data() + 16, side, 4);
    std::memcpy(huge.data() + 20, side, 4);
    write_file(folder + "/huge.png", huge);
    const auto r = classify(folder);
    expect_status(r, 3, "trunc.png");
    for (const char* name : {"empty.png", "garbage.jpg", "header_only.jpg", "text.bmp", "huge.png"}) {
        EXPECT_NE(r.err.find(name), std::string::npos) << name << " not reported:\n" << r.err;
    }
    EXPECT_NE(r.err.find("limit"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("good.png"), std::string::npos) << "the good image must still be classified:\n"
                                                         << r.out;
}

TEST_F(BadInputs, EmptyFolderIsNotFound) {
    const std::string empty = path("empty");
    fs::create_directories(empty + "/nested");
    write_text(empty + "/notes.txt", "not an image");
    expect_status(classify(empty), 1, empty);
}

TEST_F(BadInputs, SpecialFilesAsImages) {
    const std::string folder = path("special");
    fs::create_directories(folder + "/dir.png");  // a directory with an image name
    ASSERT_EQ(mkfifo((folder + "/fifo.png").c_str(), 0600), 0);
    fs::copy_file(std::string(RV_SOURCE_DIR) + "/" + kPng, folder + "/good.png");
    const auto r = classify(folder);
    EXPECT_LT(r.status, 128) << r.err;
    EXPECT_TRUE(r.status == 0 || r.status == 3) << r.err;  // special files are skipped or reported
    EXPECT_NE(r.out.find("good.png"), std::string::npos) << r.out;
    // Named directly, they are errors, not hangs.
    expect_status(classify(folder + "/fifo.png"), 2, "fifo.png");
    expect_status(classify(folder + "/dir.png"), 1, "dir.png");
}

TEST_F(BadInputs, UnreadableFile) {
    const std::string p = path("locked.png");
    fs::copy_file(std::string(RV_SOURCE_DIR) + "/" + kPng, p);
    ASSERT_EQ(chmod(p.c_str(), 0), 0);
    const auto r = classify(p);
    if (geteuid() == 0) {
        // root reads it anyway (CI runs as root): then it must simply work.
        EXPECT_EQ(r.status, 0) << r.err;
    } else {
        expect_status(r, 3, p);
    }
}

TEST_F(BadInputs, NonUtf8NamesWork) {
    const std::string folder = path("names");
    fs::create_directories(folder);
    const std::string odd = folder + "/caf\xe9-\xff.png";  // Latin-1 é and a stray 0xFF byte
    fs::copy_file(std::string(RV_SOURCE_DIR) + "/" + kPng, odd);
    for (const std::string fmt : {"text", "json", "csv"}) {
        SCOPED_TRACE(fmt);
        const auto r = classify(folder, {"--format", fmt});
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_NE(r.out.find("caf"), std::string::npos) << r.out;
    }
    write_text(folder + "/br\xfcken.png", "not a png");
    expect_status(classify(folder), 3, "br");
}

// ---- limits -------------------------------------------------------------------------------

TEST_F(BadInputs, LimitFlagsAndVariables) {
    // 33 x 33 = 1089 pixels.
    expect_status(classify(kPng, {"--max-pixels", "1000"}), 3, kPng, "limit");
    EXPECT_EQ(classify(kPng, {"--max-pixels", "1089"}).status, 0);
    expect_status(classify(kPng, {"--max-pixels", "lots"}), 2, "--max-pixels");
    expect_status(classify(kPng, {"--max-tensor-bytes", "1K"}), 1, kPth, "RV_MAX_TENSOR_BYTES");
    ::setenv("RV_MAX_PIXELS", "-3", 1);
    const auto r = classify(kPng);
    ::unsetenv("RV_MAX_PIXELS");
    expect_status(r, 2, "RV_MAX_PIXELS");
}

}  // namespace
}  // namespace rv::test
