// The command line as a user meets it: formats, folders with a bad file, exit statuses, atomic
// output, convert round trip, info, eval cls, and clear errors for wrong models and inputs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/apps/cli_runner.h"
#include "tests/support/parity.h"
#include "vision/image/image.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const std::string kTinyPth = "tests/fixtures/models/tiny_pre.pth";
const std::string kTinyCfg = "tests/fixtures/models/tiny_pre.json";

image::Image8 noise_image(int h, int w, int c, unsigned seed) {
    image::Image8 img{h, w, c, {}};
    img.pixels.resize(static_cast<size_t>(h * w * c));
    std::mt19937 rng(seed);
    for (auto& p : img.pixels) p = static_cast<uint8_t>(rng() & 0xff);
    return img;
}

class Cli : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = make_temp_dir("images");
        ASSERT_FALSE(dir_.empty());
        fs::create_directories(dir_ + "/sub");
        image::save_png(dir_ + "/a.png", noise_image(40, 30, 3, 1));
        image::save_png(dir_ + "/sub/b.png", noise_image(17, 64, 3, 2));
        image::save_png(dir_ + "/sub/c.png", noise_image(25, 25, 1, 3));
        std::ofstream(dir_ + "/broken.png") << "this is not a png";
        std::ofstream(dir_ + "/notes.txt") << "ignored: not an image extension";
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::vector<std::string> classify(std::vector<std::string> extra) {
        std::vector<std::string> a = {"classify", "-q", "-m", kTinyPth, "--config", kTinyCfg};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    std::string dir_;
};

TEST_F(Cli, VersionAndHelp) {
    EXPECT_EQ(run_cli({"--version"}).status, 0);
    const auto r = run_cli({"--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("classify"), std::string::npos);
    EXPECT_EQ(run_cli({"classify", "--no-such-flag"}).status, 2);
    EXPECT_EQ(run_cli({}).status, 2);
}

TEST_F(Cli, FolderWithABadFileReportsItAndFinishesTheRest) {
    const auto r = run_cli(classify({"-i", dir_, "--format", "json"}));
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_NE(r.err.find("broken.png"), std::string::npos) << r.err;
    const json j = json::parse(r.out);
    ASSERT_EQ(j.size(), 3u);
    // Sorted by bytes of the path: a.png, sub/b.png, sub/c.png.
    EXPECT_TRUE(j[0]["filename"].get<std::string>().ends_with("/a.png"));
    EXPECT_TRUE(j[2]["filename"].get<std::string>().ends_with("/sub/c.png"));
    for (const auto& e : j) {
        ASSERT_EQ(e["topk"].size(), 5u);  // the tiny model has 5 classes; default top-5
        double prev = 2.0;
        for (const auto& t : e["topk"]) {
            EXPECT_LE(t["score"].get<double>(), prev);
            prev = t["score"].get<double>();
            EXPECT_EQ(t["label"].get<std::string>(), "class_" + std::to_string(t["index"].get<int>()));
        }
    }
}

TEST_F(Cli, FormatsAgree) {
    const std::string one = dir_ + "/a.png";
    const auto js = run_cli(classify({"-i", one, "--format", "json", "--topk", "0"}));
    ASSERT_EQ(js.status, 0) << js.err;
    const json j = json::parse(js.out);
    double sum = 0;
    for (const auto& t : j[0]["topk"]) sum += t["score"].get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-6);

    const auto csv = run_cli(classify({"-i", one, "--format", "csv", "--topk", "2"}));
    ASSERT_EQ(csv.status, 0) << csv.err;
    EXPECT_TRUE(csv.out.starts_with("filename,index,label,score\n"));
    EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 3);
    const std::string top_index = std::to_string(j[0]["topk"][0]["index"].get<int>());
    EXPECT_NE(csv.out.find("," + top_index + ",class_" + top_index + ","), std::string::npos) << csv.out;

    const auto jl = run_cli(classify({"-i", dir_ + "/sub", "--format", "jsonl", "--output-type", "logit"}));
    ASSERT_EQ(jl.status, 0) << jl.err;
    EXPECT_EQ(std::count(jl.out.begin(), jl.out.end(), '\n'), 2);
    const auto text = run_cli(classify({"-i", one}));
    ASSERT_EQ(text.status, 0);
    EXPECT_NE(text.out.find("1. class_" + top_index), std::string::npos) << text.out;
}

// -o /dev/null must write to the device, not rename a temporary file over it (which would turn
// /dev/null into a regular file for the whole machine).
TEST_F(Cli, OutputToADeviceIsWrittenInPlace) {
    struct stat st {};
    ASSERT_EQ(stat("/dev/null", &st), 0);
    if (!S_ISCHR(st.st_mode)) GTEST_SKIP() << "/dev/null is not a character device on this machine";
    const CliResult r = run_cli(
        {"classify", "-m", kTinyPth, "--config", kTinyCfg, "-i", dir_ + "/a.png", "-o", "/dev/null", "-q"});
    EXPECT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(stat("/dev/null", &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/null was replaced by a regular file";
}

TEST_F(Cli, OutputFileIsWrittenWhole) {
    const std::string out = dir_ + "/results.csv";
    const auto r = run_cli(classify({"-i", dir_ + "/sub", "--format", "csv", "-o", out}));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.out.empty());
    ASSERT_TRUE(fs::exists(out));
    for (const auto& e : fs::directory_iterator(dir_))
        EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    EXPECT_EQ(run_cli(classify({"-i", dir_ + "/sub", "-o", dir_ + "/no/such/dir/x.csv"})).status, 1);
}

TEST_F(Cli, ConvertRoundTripNeedsNoFlags) {
    const std::string st = dir_ + "/tiny.safetensors";
    const auto c = run_cli(
        {"convert", kTinyPth, st, "--config", kTinyCfg, "--labels", "tests/fixtures/cli/labels5.txt"});
    ASSERT_EQ(c.status, 0) << c.err;
    const auto from_pth =
        run_cli(classify({"-i", dir_ + "/a.png", "--format", "json", "--output-type", "logit", "--topk", "0",
                          "--labels", "tests/fixtures/cli/labels5.txt"}));
    ASSERT_EQ(from_pth.status, 0) << from_pth.err;
    const auto from_st = run_cli({"classify", "-q", "-m", st, "-i", dir_ + "/a.png", "--format", "json",
                                  "--output-type", "logit", "--topk", "0"});
    ASSERT_EQ(from_st.status, 0) << from_st.err;
    const json a = json::parse(from_pth.out), b = json::parse(from_st.out);
    ASSERT_EQ(a[0]["topk"].size(), b[0]["topk"].size());
    for (size_t i = 0; i < a[0]["topk"].size(); ++i) {
        EXPECT_EQ(a[0]["topk"][i]["index"], b[0]["topk"][i]["index"]);
        EXPECT_EQ(a[0]["topk"][i]["label"], b[0]["topk"][i]["label"]);  // labels travel in the metadata
        EXPECT_EQ(a[0]["topk"][i]["score"].get<double>(), b[0]["topk"][i]["score"].get<double>());
    }
    const auto info = run_cli({"info", "--json", st});
    ASSERT_EQ(info.status, 0) << info.err;
    const json ij = json::parse(info.out);
    EXPECT_EQ(ij["format"], "safetensors");
    EXPECT_TRUE(ij["metadata"].contains("config"));
    EXPECT_EQ(ij["structure"]["embed_dims"], 16);
}

TEST_F(Cli, InfoDescribesACheckpoint) {
    const auto r = run_cli({"info", kTinyPth});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("embed_dims 16"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("backbone.layers.0.att.spatial_decay"), std::string::npos);
    const auto bad = run_cli({"info", dir_ + "/notes.txt"});
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.err.find("notes.txt"), std::string::npos) << bad.err;
}

TEST_F(Cli, EvalClsCountsWhatClassifySaw) {
    // Build an ImageFolder whose labels are the model's own top-1 answers: accuracy must be 100 %.
    const std::string tree = dir_ + "/eval";
    const auto r = run_cli(classify({"-i", dir_ + "/sub", "--format", "json", "--topk", "1"}));
    ASSERT_EQ(r.status, 0);
    int n = 0;
    for (const auto& e : json::parse(r.out)) {
        // One folder named by label, the other as "<index>_<name>" (export_fmnist.py's layout).
        const std::string folder = n == 0 ? e["topk"][0]["label"].get<std::string>()
                                          : std::to_string(e["topk"][0]["index"].get<int>()) + "_anything";
        fs::create_directories(tree + "/" + folder);
        fs::copy_file(e["filename"].get<std::string>(),
                      tree + "/" + folder + "/" + std::to_string(n++) + ".png");
    }
    const auto ev = run_cli({"eval", "cls", "-q", "-m", kTinyPth, "--config", kTinyCfg, "-i", tree,
                             "--format", "json", "-o", dir_ + "/report.json"});
    ASSERT_EQ(ev.status, 0) << ev.err;
    const json rep = json::parse(ev.out);
    EXPECT_EQ(rep["images"], 2);
    EXPECT_DOUBLE_EQ(rep["top1"].get<double>(), 1.0);
    EXPECT_TRUE(fs::exists(dir_ + "/report.json"));
    // A folder that matches no label is a clear usage error.
    fs::create_directories(tree + "/not_a_class");
    const auto bad = run_cli({"eval", "cls", "-q", "-m", kTinyPth, "--config", kTinyCfg, "-i", tree});
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("not_a_class"), std::string::npos) << bad.err;
}

TEST_F(Cli, ClearErrorsForWrongModelsAndInputs) {
    auto expect_error = [](const CliResult& r, int status, const std::string& needle) {
        EXPECT_EQ(r.status, status) << r.err;
        EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
        EXPECT_EQ(r.err.find("terminate"), std::string::npos);
    };
    const std::string img = dir_ + "/a.png";
    expect_error(run_cli({"classify", "-m", "vrwkv_nonexistent", "-i", img}), 1, "unknown model");
    expect_error(run_cli({"classify", "-m", "vrwkv_t_in1k_224", "-i", img}), 1, "not on this machine");
    expect_error(run_cli({"classify", "-m", "no/such/file.pth", "-i", img}), 1, "does not exist");
    expect_error(run_cli(classify({"-i", dir_ + "/missing.png"})), 1, "does not exist");
    expect_error(run_cli(classify({"-i", dir_ + "/notes.txt"})), 3, "notes.txt");
    // Weights and config that disagree: the message names the key and both shapes.
    const auto wrong = run_cli(
        {"classify", "-m", kTinyPth, "--config", "tests/fixtures/models/tiny_post_ls.json", "-i", img});
    expect_error(wrong, 1, "tiny_pre.pth");
    EXPECT_NE(wrong.err.find("backbone."), std::string::npos) << wrong.err;
    // A truncated checkpoint.
    const std::string cut = dir_ + "/cut.pth";
    {
        std::ifstream in(kTinyPth, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    expect_error(run_cli({"classify", "-m", cut, "--config", kTinyCfg, "-i", img}), 1, "cut.pth");
    // An unknown field in a config file.
    const std::string cfg = dir_ + "/bad.json";
    std::ofstream(cfg) << R"({"embed_dims": 16, "depth": 2, "patch_sise": 4})";
    expect_error(run_cli({"classify", "-m", kTinyPth, "--config", cfg, "-i", img}), 2, "patch_sise");
}

TEST_F(Cli, ModelsListsTheZoo) {
    const auto r = run_cli({"models"});
    ASSERT_EQ(r.status, 0);
    for (const char* id : {"vrwkv_t_in1k_224", "vrwkv_s_in1k_224", "vrwkv_b_in1k_224", "vrwkv_l_22kto1k_384"})
        EXPECT_NE(r.out.find(id), std::string::npos) << id;
}

}  // namespace
}  // namespace rv::test
