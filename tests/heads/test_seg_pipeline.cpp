// The segment pipeline with stand-in networks: slicing convention (segmenter.h), the same answer
// for every orientation a volume is stored in, batch invariance, resize paths, probabilities,
// nnU-Net case discovery and its errors, outputs with the input's geometry.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "heads/seg_pipeline.h"
#include "vision/core/error.h"

namespace rv::heads {
namespace {
namespace fs = std::filesystem;

std::string scratch(const std::string& name) {
    const fs::path dir = fs::path(RV_BINARY_DIR) / "test_seg_pipeline_scratch" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir.string();
}

// A RAS volume 12 × 10 × 6 with spacing and origin, values = a smooth function of position.
image::Volume ras_volume() {
    image::Volume v;
    v.geometry.size = {12, 10, 6};
    v.geometry.spacing = {1.0, 1.5, 2.0};
    v.geometry.origin = {3.0, -4.0, 5.0};
    v.geometry.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};  // LPS world, so i → R, j → A, k → S
    v.source.path = "ras_volume";
    v.source.extension = ".nii.gz";
    for (int64_t k = 0; k < 6; ++k)
        for (int64_t j = 0; j < 10; ++j)
            for (int64_t i = 0; i < 12; ++i)
                v.voxels.push_back(static_cast<float>(i * 7 + j * 3 + k * 11 % 5));
    return v;
}

image::Volume stored_as(const image::Volume& v, const std::string& code) {
    const image::Reorientation r = image::plan_reorientation(v.geometry, code);
    image::Volume out = v;
    out.geometry = image::reoriented_geometry(v.geometry, r);
    image::reorient(v.voxels.data(), out.voxels.data(), r);
    return out;
}

// A network whose answer depends on where a pixel is in the slice: class 1 where the column is in
// the left half of the slice and the input is above 0.3, else class 0. It sees the slice exactly
// as the pipeline cuts it, so any transpose or flip changes the result.
SliceNet position_net(int h, int w) {
    SliceNet net;
    net.id = "position";
    net.num_classes = 2;
    net.preprocess.input_h = h;
    net.preprocess.input_w = w;
    net.preprocess.orientation = "RAS";
    net.preprocess.slice_axis = 2;
    net.preprocess.intensity.mode = "percentile";
    net.preprocess.intensity.p_lo = 0.0;
    net.preprocess.intensity.p_hi = 100.0;
    net.forward = [](const float* x, int B, int H, int W, float* y) {
        for (int b = 0; b < B; ++b)
            for (int r = 0; r < H; ++r)
                for (int c = 0; c < W; ++c) {
                    const float v = x[(b * H + r) * W + c];
                    const float one = (c < W / 2 && v > 0.3f) ? 1.0f : -1.0f;
                    y[((b * 2 + 0) * H + r) * W + c] = 0.0f;
                    y[((b * 2 + 1) * H + r) * W + c] = one;
                }
    };
    return net;
}

TEST(SegPipeline, SlicingConventionAxis2RowsIColsJ) {
    const image::Volume v = ras_volume();
    SegmentOptions o;
    o.batch = 4;
    const SegmentedVolume seg = segment_volume(position_net(12, 10), {v}, o);
    EXPECT_EQ(seg.slices, 6);
    const float lo = 0.0f, hi = *std::max_element(v.voxels.begin(), v.voxels.end());
    size_t ones = 0;
    for (int64_t k = 0; k < 6; ++k)
        for (int64_t j = 0; j < 10; ++j)
            for (int64_t i = 0; i < 12; ++i) {
                const size_t p = static_cast<size_t>(i + 12 * (j + 10 * k));
                const bool want = j < 5 && (v.voxels[p] - lo) / (hi - lo) > 0.3f;
                ASSERT_EQ(seg.labels[p], want ? 1 : 0) << i << "," << j << "," << k;
                ones += want;
            }
    EXPECT_GT(ones, 50u);
}

TEST(SegPipeline, SameAnswerWhateverTheStoredOrientation) {
    const image::Volume ras = ras_volume();
    const SegmentedVolume want = segment_volume(position_net(12, 10), {ras}, {});
    for (const char* code : {"LPS", "LSA", "PIR", "RAS", "IAL", "SPL"}) {
        SCOPED_TRACE(code);
        const image::Volume stored = stored_as(ras, code);
        EXPECT_EQ(image::orientation_code(stored.geometry), code);
        const SegmentedVolume got = segment_volume(position_net(12, 10), {stored}, {});
        // The labels come back in the stored grid: reorienting RAS's answer the same way gives them.
        std::vector<uint8_t> expected(want.labels.size());
        image::reorient(want.labels.data(), expected.data(), image::plan_reorientation(ras.geometry, code));
        EXPECT_EQ(got.labels, expected);
        EXPECT_EQ(got.geometry.size, stored.geometry.size);
    }
}

TEST(SegPipeline, BatchSizeDoesNotChangeTheResult) {
    SliceNet net = position_net(16, 16);  // resized in and out (bilinear)
    const image::Volume v = stored_as(ras_volume(), "LSA");
    SegmentOptions one;
    one.batch = 1;
    SegmentOptions seven;
    seven.batch = 7;
    seven.probabilities = true;
    const auto a = segment_volume(net, {v}, one);
    const auto b = segment_volume(net, {v}, seven);
    EXPECT_EQ(a.labels, b.labels);
    ASSERT_EQ(b.probabilities.size(), 2 * v.voxels.size());
    for (size_t p = 0; p < v.voxels.size(); ++p) {
        EXPECT_NEAR(b.probabilities[p] + b.probabilities[p + v.voxels.size()], 1.0f, 1e-6f);
        EXPECT_EQ(b.labels[p], b.probabilities[p + v.voxels.size()] > b.probabilities[p] ? 1 : 0);
    }
}

TEST(SegPipeline, OfficialResizePathsAndWindow) {
    // The Synapse-style preprocessing: HU window [-125, 275], cubic spline in, nearest labels back.
    SliceNet net = position_net(24, 20);
    net.preprocess.intensity.mode = "window";
    net.preprocess.intensity.lo = -125;
    net.preprocess.intensity.hi = 275;
    net.preprocess.resize_in = "cubic_spline";
    net.preprocess.resize_out = "nearest_labels";
    image::Volume v = ras_volume();
    for (auto& x : v.voxels) x = x * 10.0f - 200.0f;
    int64_t progress = 0;
    SegmentOptions o;
    o.slice_axis = 0;  // sagittal: rows j, columns k
    o.on_slices = [&](int64_t done, int64_t total) {
        EXPECT_EQ(total, 12);
        progress = done;
    };
    const auto seg = segment_volume(net, {v}, o);
    EXPECT_EQ(progress, 12);
    EXPECT_EQ(seg.slices, 12);
    // Columns run along k (6 voxels): labels only where k < 3.
    for (int64_t k = 3; k < 6; ++k)
        for (int64_t p = 0; p < 120; ++p) EXPECT_EQ(seg.labels[static_cast<size_t>(k * 120 + p)], 0);
    net.preprocess.resize_in = "lanczos";
    EXPECT_THROW(segment_volume(net, {v}, {}), Error);
}

TEST(SegPipeline, ChannelChecks) {
    SliceNet net = position_net(12, 10);
    net.preprocess.in_channels = 2;
    image::Volume a = ras_volume(), b = ras_volume();
    b.source.path = "second";
    EXPECT_THROW(segment_volume(net, {a}, {}), Error);
    b.geometry.origin[0] += 1.0;
    try {
        segment_volume(net, {a, b}, {});
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
        EXPECT_NE(std::string(e.what()).find("second"), std::string::npos);
    }
}

TEST(SegPipeline, NnUnetCaseDiscovery) {
    const std::string dir = scratch("cases");
    for (const char* f : {"liver_0000.nii.gz", "liver_0001.nii.gz", "brain.nii", "lung_0000.nii.gz",
                          "notes.txt", ".hidden_0000.nii.gz"})
        std::ofstream(dir + "/" + f) << "x";
    EXPECT_TRUE(is_case_file(dir + "/liver_0000.nii.gz"));
    EXPECT_FALSE(is_case_file(dir + "/liver_0001.nii.gz"));
    EXPECT_TRUE(is_case_file(dir + "/brain.nii"));
    EXPECT_FALSE(is_case_file(dir + "/notes.txt"));
    EXPECT_FALSE(is_case_file(dir + "/.hidden_0000.nii.gz"));
    EXPECT_EQ(case_id(dir + "/liver_0000.nii.gz"), "liver");
    EXPECT_EQ(case_id(dir + "/brain.nii"), "brain");
    const SegCase liver = case_for_item(dir + "/liver_0000.nii.gz", 2);
    EXPECT_EQ(liver.id, "liver");
    ASSERT_EQ(liver.channels.size(), 2u);
    EXPECT_EQ(fs::path(liver.channels[1]).filename(), "liver_0001.nii.gz");
    EXPECT_EQ(liver.output_extension, ".nii.gz");
    try {
        case_for_item(dir + "/lung_0000.nii.gz", 2);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kNotFound);
        EXPECT_NE(std::string(e.what()).find("lung_0001.nii.gz"), std::string::npos) << e.what();
    }
    EXPECT_THROW(case_for_item(dir + "/brain.nii", 2), Error);
    EXPECT_EQ(case_for_item(dir + "/brain.nii", 1).output_extension, ".nii");
}

TEST(SegPipeline, CaseOutputHasTheInputGeometry) {
    const std::string dir = scratch("case_out");
    const std::string in = std::string(RV_SOURCE_DIR) + "/tests/fixtures/medical/nifti/vol_lsa.nii.gz";
    SliceNet net = position_net(16, 16);
    net.preprocess.intensity.mode = "percentile";
    const SegCase c = case_for_item(in, 1);
    const CaseTiming t =
        segment_case(net, c, dir + "/vol_lsa.nii.gz", {dir + "/p0.nii.gz", dir + "/p1.nii.gz"}, {});
    EXPECT_EQ(t.orientation, "LSA");
    const image::Volume src = image::read_volume(in);
    const image::Volume out = image::read_volume(dir + "/vol_lsa.nii.gz");
    EXPECT_EQ(out.geometry.size, src.geometry.size);
    EXPECT_EQ(out.geometry.spacing, src.geometry.spacing);
    EXPECT_EQ(out.geometry.origin, src.geometry.origin);
    EXPECT_EQ(out.geometry.direction, src.geometry.direction);
    EXPECT_EQ(out.source.component_type, "unsigned_char");
    const image::Volume p1 = image::read_volume(dir + "/p1.nii.gz");
    for (size_t i = 0; i < out.voxels.size(); ++i) ASSERT_EQ(out.voxels[i] == 1.0f, p1.voxels[i] > 0.5f) << i;
}

}  // namespace
}  // namespace rv::heads
