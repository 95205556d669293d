// `rwkv-vision segment` and `eval seg` as a user runs them, with the tiny random-weight RWKV-UNet
// fixture: outputs keep the input's geometry and ending, --continue skips finished cases,
// --num-parts splits a cohort, a bad case fails alone (exit 3), a killed run leaves no partial
// file under a final name, DICOM folders are cases; eval seg's reports.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/apps/cli_runner.h"
#include "vision/image/medical_volume.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const std::string kModel = std::string(RV_SOURCE_DIR) + "/tests/fixtures/medical/tiny_seg.safetensors";

std::string medical(const std::string& rel) {
    return std::string(RV_SOURCE_DIR) + "/tests/fixtures/medical/" + rel;
}

// A cohort: four cases in nnU-Net naming, two endings, three orientations.
std::string make_cohort(const std::string& tag) {
    const std::string dir = make_temp_dir(tag) + "/images";
    fs::create_directories(dir);
    fs::copy_file(medical("nifti/vol_ras.nii.gz"), dir + "/case_a_0000.nii.gz");
    fs::copy_file(medical("nifti/vol_lps.nii"), dir + "/case_b_0000.nii");
    fs::copy_file(medical("nifti/vol_lsa.nii.gz"), dir + "/case_c_0000.nii.gz");
    fs::copy_file(medical("nifti/vol_oblique.nii.gz"), dir + "/case_d_0000.nii.gz");
    return dir;
}

void expect_same_geometry(const std::string& out, const std::string& in) {
    const image::Volume o = image::read_volume(out), i = image::read_volume(in);
    EXPECT_EQ(o.geometry.size, i.geometry.size) << out;
    EXPECT_EQ(o.geometry.spacing, i.geometry.spacing) << out;
    EXPECT_EQ(o.geometry.origin, i.geometry.origin) << out;
    EXPECT_EQ(o.geometry.direction, i.geometry.direction) << out;
    EXPECT_EQ(o.source.component_type, "unsigned_char") << out;
}

json read_json(const std::string& path) {
    std::ifstream in(path);
    return json::parse(in);
}

TEST(SegmentCli, FolderOfCasesKeepsGeometryAndEnding) {
    const std::string in = make_cohort("seg_folder");
    const std::string out = fs::path(in).parent_path().string() + "/out";
    const CliResult r = run_cli({"segment", "-m", kModel, "-i", in, "-o", out, "--save-probabilities", "-q"});
    ASSERT_EQ(r.status, 0) << r.err;
    expect_same_geometry(out + "/case_a.nii.gz", in + "/case_a_0000.nii.gz");
    expect_same_geometry(out + "/case_b.nii", in + "/case_b_0000.nii");
    expect_same_geometry(out + "/case_c.nii.gz", in + "/case_c_0000.nii.gz");
    expect_same_geometry(out + "/case_d.nii.gz", in + "/case_d_0000.nii.gz");
    EXPECT_TRUE(fs::exists(out + "/case_b_prob_1.nii"));
    const json prov = read_json(out + "/provenance.json");
    EXPECT_EQ(prov["model"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(prov["cases"].size(), 4u);
    EXPECT_EQ(prov["cases"][0]["status"], "ok");
    EXPECT_GT(prov["cases"][0]["slices"].get<int>(), 0);
    for (const auto& e : fs::directory_iterator(out))
        EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
}

TEST(SegmentCli, ContinueSkipsFinishedCases) {
    const std::string in = make_cohort("seg_continue");
    const std::string out = fs::path(in).parent_path().string() + "/out";
    ASSERT_EQ(run_cli({"segment", "-m", kModel, "-i", in, "-o", out, "-q"}).status, 0);
    const auto stamp = fs::last_write_time(out + "/case_a.nii.gz");
    fs::remove(out + "/case_c.nii.gz");
    const CliResult r = run_cli({"segment", "-m", kModel, "-i", in, "-o", out, "--continue", "-q"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(fs::last_write_time(out + "/case_a.nii.gz"), stamp);  // not redone
    EXPECT_TRUE(fs::exists(out + "/case_c.nii.gz"));                // redone
    const json prov = read_json(out + "/provenance.json");
    ASSERT_EQ(prov["cases"].size(), 1u);
    EXPECT_EQ(prov["cases"][0]["case"], "case_c");
}

TEST(SegmentCli, NumPartsSplitsTheCohort) {
    const std::string in = make_cohort("seg_parts");
    const std::string out = fs::path(in).parent_path().string() + "/out";
    std::set<std::string> seen;
    for (int k = 0; k < 3; ++k) {
        const CliResult r = run_cli({"segment", "-m", kModel, "-i", in, "-o", out, "--num-parts", "3",
                                     "--part-id", std::to_string(k), "-q"});
        ASSERT_EQ(r.status, 0) << r.err;
        const json prov =
            read_json(out + "/_parts/part-0000" + std::to_string(k) + "-of-00003.provenance.json");
        for (const auto& c : prov["cases"]) EXPECT_TRUE(seen.insert(c["case"].get<std::string>()).second);
    }
    EXPECT_EQ(seen, (std::set<std::string>{"case_a", "case_b", "case_c", "case_d"}));
    const CliResult bad =
        run_cli({"segment", "-m", kModel, "-i", in, "-o", out, "--num-parts", "3", "--part-id", "3"});
    EXPECT_EQ(bad.status, 2);
}

TEST(SegmentCli, BadCaseFailsAloneWithStatus3) {
    const std::string in = make_cohort("seg_bad");
    fs::copy_file(medical("corrupt/truncated.nii.gz"), in + "/broken_0000.nii.gz");
    fs::copy_file(medical("corrupt/nan.nii.gz"), in + "/nan_case_0000.nii.gz");
    const std::string out = fs::path(in).parent_path().string() + "/out";
    const CliResult r = run_cli({"segment", "-m", kModel, "-i", in, "-o", out, "-q"});
    EXPECT_EQ(r.status, 3);
    EXPECT_NE(r.err.find("broken_0000.nii.gz"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("NaN"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::exists(out + "/case_a.nii.gz"));
    EXPECT_TRUE(fs::exists(out + "/case_d.nii.gz"));
    EXPECT_FALSE(fs::exists(out + "/broken.nii.gz"));
    const json prov = read_json(out + "/provenance.json");
    EXPECT_EQ(prov["exit_status"], 3);
}

TEST(SegmentCli, DicomFolderIsOneCase) {
    const std::string out = make_temp_dir("seg_dicom") + "/out";
    const CliResult r = run_cli({"segment", "-m", kModel, "-i", medical("dicom/series"), "-o", out, "-q"});
    ASSERT_EQ(r.status, 0) << r.err;
    const image::Volume o = image::read_volume(out + "/series.nii.gz");
    EXPECT_EQ(o.geometry.size, (std::array<int64_t, 3>{8, 6, 4}));
    EXPECT_EQ(image::orientation_code(o.geometry), "LPS");
}

// SIGKILL at whatever point the run has reached: every file under a final name is complete.
TEST(SegmentCli, KilledRunLeavesNoPartialOutput) {
    const std::string base = make_temp_dir("seg_kill");
    const std::string in = base + "/images";
    fs::create_directories(in);
    for (int i = 0; i < 6; ++i)
        fs::copy_file("/usr/share/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1UCharRaw.nii.gz",
                      in + "/k" + std::to_string(i) + "_0000.nii.gz");
    const std::string out = base + "/out";
    for (int delay_ms : {700, 2500}) {
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            const std::string exe = RV_CLI_PATH;
            std::vector<std::string> args = {exe, "segment", "-m", kModel, "-i", in, "-o", out, "-q"};
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(exe.c_str(), argv.data());
            _exit(127);
        }
        usleep(static_cast<useconds_t>(delay_ms) * 1000);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        if (!fs::exists(out)) continue;
        for (const auto& e : fs::directory_iterator(out)) {
            const std::string name = e.path().filename().string();
            if (name[0] == '.') continue;  // a temporary folder of the killed write
            if (name == "provenance.json") continue;
            SCOPED_TRACE(name);
            expect_same_geometry(e.path().string(),
                                 in + "/" + name.substr(0, name.size() - 7) + "_0000.nii.gz");
        }
    }
    // A rerun finishes the job around whatever the killed runs left.
    const CliResult r = run_cli({"segment", "-m", kModel, "-i", in, "-o", out, "-q"});
    EXPECT_EQ(r.status, 0) << r.err;
    for (int i = 0; i < 6; ++i) EXPECT_TRUE(fs::exists(out + "/k" + std::to_string(i) + ".nii.gz"));
}

TEST(EvalSegCli, ReportsAndMissingPredictions) {
    const std::string base = make_temp_dir("evalseg");
    fs::create_directories(base + "/pred");
    fs::create_directories(base + "/ref");
    const image::Volume v = image::read_volume(medical("nifti/vol_lps.nii"));
    std::vector<uint8_t> ref(v.voxels.size()), pred(v.voxels.size());
    for (size_t i = 0; i < v.voxels.size(); ++i) {
        ref[i] = v.voxels[i] > 500 ? 1 : (v.voxels[i] < -500 ? 2 : 0);
        pred[i] = v.voxels[i] > 400 ? 1 : (v.voxels[i] < -600 ? 2 : 0);
    }
    image::write_label_volume(base + "/ref/x.nii", v.geometry, v.source, ref.data());
    image::write_label_volume(base + "/pred/x.nii", v.geometry, v.source, pred.data());
    image::write_label_volume(base + "/ref/y.nii", v.geometry, v.source, ref.data());
    image::write_label_volume(base + "/pred/y.nii", v.geometry, v.source, ref.data());
    CliResult r =
        run_cli({"eval", "seg", "--pred", base + "/pred", "--ref", base + "/ref", "-o", base + "/eval"});
    ASSERT_EQ(r.status, 0) << r.err;
    const json s = read_json(base + "/eval/summary.json");
    EXPECT_EQ(s["labels"], json({1, 2}));
    EXPECT_EQ(s["metric_per_case"].size(), 2u);
    EXPECT_EQ(s["metric_per_case"][1]["metrics"]["1"]["Dice"], 1.0);  // y: prediction == reference
    EXPECT_EQ(s["metric_per_case"][1]["metrics"]["2"]["HD95"], 0.0);
    const double d1 = s["metric_per_case"][0]["metrics"]["1"]["Dice"];
    EXPECT_GT(d1, 0.5);
    EXPECT_LT(d1, 1.0);
    EXPECT_NEAR(s["mean"]["1"]["Dice"].get<double>(), (d1 + 1.0) / 2, 1e-12);
    std::ifstream csv(base + "/eval/metrics.csv");
    std::string header;
    std::getline(csv, header);
    EXPECT_EQ(header, "case,label,dice,hd95,n_pred,n_ref");
    // A reference without a prediction: reported, the rest scored, exit 3.
    image::write_label_volume(base + "/ref/z.nii", v.geometry, v.source, ref.data());
    r = run_cli({"eval", "seg", "--pred", base + "/pred", "--ref", base + "/ref", "--labels", "1"});
    EXPECT_EQ(r.status, 3);
    EXPECT_NE(r.err.find("no prediction for case z"), std::string::npos) << r.err;
    r = run_cli({"eval", "seg", "--pred", base + "/pred", "--ref", base + "/ref", "--empty-policy", "zero"});
    EXPECT_EQ(r.status, 2);
}

}  // namespace
}  // namespace rv::test
