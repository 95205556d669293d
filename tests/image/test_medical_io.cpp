// Medical volume IO: NIfTI geometry and voxels against nibabel, bit-exact header round trip,
// reorientation against nibabel's as_closest_canonical and round trips through all 48 codes,
// DICOM series, MetaImage/NRRD/PNG, corrupt inputs, atomic writes.
// Fixtures: tools/make_medical_fixtures.py.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vision/core/error.h"
#include "vision/image/medical_volume.h"

namespace rv::image {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::string fixture(const std::string& name) {
    return std::string(RV_SOURCE_DIR) + "/tests/fixtures/medical/" + name;
}

json load_json(const std::string& path) {
    std::ifstream in(path);
    return json::parse(in);
}

std::string scratch(const std::string& name) {
    const fs::path dir = fs::path(RV_BINARY_DIR) / "test_medical_scratch" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir.string();
}

std::vector<uint8_t> gz_bytes(const std::string& path, size_t n) {
    gzFile f = gzopen(path.c_str(), "rb");
    std::vector<uint8_t> b(n);
    const int got = gzread(f, b.data(), static_cast<unsigned>(n));
    gzclose(f);
    b.resize(got > 0 ? static_cast<size_t>(got) : 0);
    return b;
}

template <typename F>
void expect_error(F&& f, ErrorCode code, const std::string& name) {
    try {
        f();
        ADD_FAILURE() << "no error for " << name;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
}

const char* const kNiftiCases[] = {"ras", "lps", "lsa", "pir", "oblique"};

std::string nifti_file(const std::string& name) {
    return fixture("nifti/" + load_json(fixture("nifti/vol_" + name + ".json"))["file"].get<std::string>());
}

TEST(MedicalNifti, GeometryAndVoxelsMatchNibabel) {
    for (const char* name : kNiftiCases) {
        SCOPED_TRACE(name);
        const json want = load_json(fixture(std::string("nifti/vol_") + name + ".json"));
        const Volume v = read_volume(nifti_file(name));
        EXPECT_EQ(v.geometry.dims, 3);
        EXPECT_EQ(v.source.nifti_header.size(), 348u);
        for (size_t a = 0; a < 3; ++a) {
            EXPECT_EQ(v.geometry.size[a], want["header"]["dim"][a + 1].get<int64_t>());
            EXPECT_NEAR(v.geometry.spacing[a], want["spacing"][a].get<double>(), 1e-5);
            EXPECT_NEAR(v.geometry.origin[a], want["origin_lps"][a].get<double>(), 1e-4);
            for (size_t c = 0; c < 3; ++c)
                // 5e-4: for a qform-only file with a 90-degree quaternion (vol_lsa) nifti1_io, which ITK
                // uses, sets the quaternion's a to 0 when 1 - b^2 - c^2 - d^2 < 1e-7; nibabel takes the
                // square root (2.4e-4 here). Everything else agrees to 1e-7.
                EXPECT_NEAR(v.geometry.direction[a * 3 + c], want["direction_lps"][a][c].get<double>(), 5e-4);
        }
        EXPECT_EQ(orientation_code(v.geometry), want["axcodes"].get<std::string>());
        const auto voxels = want["voxels"].get<std::vector<float>>();
        EXPECT_EQ(v.voxels, voxels);
    }
}

TEST(MedicalNifti, ReorientToRasMatchesNibabelCanonical) {
    for (const char* name : kNiftiCases) {
        SCOPED_TRACE(name);
        const json want = load_json(fixture(std::string("nifti/vol_") + name + ".json"));
        const Volume v = read_volume(nifti_file(name));
        const Reorientation r = plan_reorientation(v.geometry, "RAS");
        for (size_t a = 0; a < 3; ++a) EXPECT_EQ(r.out_size[a], want["canonical_shape"][a].get<int64_t>());
        std::vector<float> out(v.voxels.size());
        reorient(v.voxels.data(), out.data(), r);
        EXPECT_EQ(out, want["canonical_voxels"].get<std::vector<float>>());
        EXPECT_EQ(orientation_code(reoriented_geometry(v.geometry, r)), "RAS");
    }
}

// Every target code: the reoriented grid has that code, voxels keep their world position, and the
// inverse gives the input back exactly.
TEST(MedicalOrientation, RoundTripThroughEveryCode) {
    const std::string letters[3][2] = {{"L", "R"}, {"P", "A"}, {"S", "I"}};
    const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (const char* name : kNiftiCases) {
        const Volume v = read_volume(nifti_file(name));
        const auto& g = v.geometry;
        auto world = [](const VolumeGeometry& geo, const std::array<int64_t, 3>& idx) {
            std::array<double, 3> p = geo.origin;
            for (size_t w = 0; w < 3; ++w)
                for (size_t c = 0; c < 3; ++c)
                    p[w] += geo.direction[w * 3 + c] * geo.spacing[c] * static_cast<double>(idx[c]);
            return p;
        };
        int codes = 0;
        for (const auto& perm : perms)
            for (int signs = 0; signs < 8; ++signs) {
                std::string code;
                for (int a = 0; a < 3; ++a) code += letters[perm[a]][(signs >> a) & 1];
                SCOPED_TRACE(std::string(name) + " -> " + code);
                const Reorientation r = plan_reorientation(g, code);
                const VolumeGeometry og = reoriented_geometry(g, r);
                EXPECT_EQ(orientation_code(og), code);
                std::vector<float> out(v.voxels.size()), back(v.voxels.size());
                reorient(v.voxels.data(), out.data(), r);
                reorient(out.data(), back.data(), r.inverse());
                EXPECT_EQ(back, v.voxels);
                // Output voxel (1, 2, 3) holds the input voxel at the same world position.
                const std::array<int64_t, 3> o{1, 2, 3};
                std::array<int64_t, 3> in{};
                for (size_t a = 0; a < 3; ++a) {
                    const auto s = static_cast<size_t>(r.source_axis[a]);
                    in[s] = r.flip[a] ? g.size[s] - 1 - o[a] : o[a];
                }
                const auto pw = world(og, o), pi = world(g, in);
                for (size_t w = 0; w < 3; ++w) EXPECT_NEAR(pw[w], pi[w], 1e-9);
                const int64_t lin_out = o[0] + og.size[0] * (o[1] + og.size[1] * o[2]);
                const int64_t lin_in = in[0] + g.size[0] * (in[1] + g.size[1] * in[2]);
                EXPECT_EQ(out[static_cast<size_t>(lin_out)], v.voxels[static_cast<size_t>(lin_in)]);
                ++codes;
            }
        EXPECT_EQ(codes, 48);
    }
    const Volume v = read_volume(nifti_file("ras"));
    expect_error([&] { plan_reorientation(v.geometry, "RAR"); }, ErrorCode::kInvalidArgument, "RAR");
    expect_error([&] { plan_reorientation(v.geometry, "RA"); }, ErrorCode::kInvalidArgument, "RA");
}

// A label map written for a NIfTI input has the input's header byte for byte, except the fields
// that describe the new voxel type; ITK reads the same geometry back, bit for bit.
TEST(MedicalNifti, LabelAndFloatMapsKeepTheHeaderBitExactly) {
    const std::string dir = scratch("nifti_roundtrip");
    // datatype, bitpix (70..74), vox_offset, scl_slope, scl_inter (108..120), cal_max, cal_min
    // (124..132), glmax, glmin (140..148): the only bytes allowed to change.
    auto changeable = [](size_t i) {
        return (i >= 70 && i < 74) || (i >= 108 && i < 120) || (i >= 124 && i < 132) || (i >= 140 && i < 148);
    };
    for (const char* name : kNiftiCases) {
        SCOPED_TRACE(name);
        const Volume v = read_volume(nifti_file(name));
        const std::string ext = v.source.extension;
        std::vector<uint8_t> labels(v.voxels.size());
        for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(static_cast<int>(i) % 5);
        const std::string out = dir + "/" + name + ext;
        write_label_volume(out, v.geometry, v.source, labels.data());
        const auto in_bytes = gz_bytes(nifti_file(name), 348);
        const auto out_bytes = gz_bytes(out, 352 + labels.size());
        ASSERT_EQ(out_bytes.size(), 352 + labels.size());
        int differing = 0;
        for (size_t i = 0; i < 348; ++i)
            if (in_bytes[i] != out_bytes[i]) {
                EXPECT_TRUE(changeable(i)) << "header byte " << i << " changed";
                ++differing;
            }
        EXPECT_GT(differing, 0);  // datatype did change (int16 -> uint8)
        const Volume back = read_volume(out);
        EXPECT_EQ(back.geometry.size, v.geometry.size);
        EXPECT_EQ(back.geometry.spacing, v.geometry.spacing);
        EXPECT_EQ(back.geometry.origin, v.geometry.origin);
        EXPECT_EQ(back.geometry.direction, v.geometry.direction);
        for (size_t i = 0; i < labels.size(); ++i) ASSERT_EQ(back.voxels[i], labels[i]);
        EXPECT_EQ(back.source.component_type, "unsigned_char");

        const std::string fout = dir + "/" + name + "_prob" + ext;
        write_float_volume(fout, v.geometry, v.source, v.voxels.data());
        const Volume fback = read_volume(fout);
        EXPECT_EQ(fback.voxels, v.voxels);
        EXPECT_EQ(fback.geometry.direction, v.geometry.direction);
        EXPECT_EQ(fback.source.component_type, "float");
    }
    // Nothing but the outputs is left in the folder (the temporary folders are gone).
    for (const auto& e : fs::directory_iterator(dir))
        EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
}

TEST(MedicalDicom, SeriesReadSortedWithRescale) {
    const json want = load_json(fixture("dicom/expected.json"));
    EXPECT_TRUE(is_dicom_folder(fixture("dicom/series")));
    EXPECT_FALSE(is_dicom_folder(fixture("nifti")));
    const Volume v = read_volume(fixture("dicom/series"));
    for (size_t a = 0; a < 3; ++a) {
        EXPECT_EQ(v.geometry.size[a], want["size"][a].get<int64_t>());
        EXPECT_NEAR(v.geometry.spacing[a], want["spacing"][a].get<double>(), 1e-6);
        EXPECT_NEAR(v.geometry.origin[a], want["origin"][a].get<double>(), 1e-6);
    }
    EXPECT_EQ(orientation_code(v.geometry), "LPS");
    EXPECT_EQ(v.voxels, want["voxels"].get<std::vector<float>>());
    EXPECT_EQ(v.source.extension, "");
    EXPECT_EQ(output_extension(v.source), ".nii.gz");
    // Written as NIfTI with the series' geometry.
    const std::string dir = scratch("dicom_out");
    std::vector<uint8_t> labels(v.voxels.size(), 1);
    write_label_volume(dir + "/case.nii.gz", v.geometry, v.source, labels.data());
    const Volume back = read_volume(dir + "/case.nii.gz");
    for (size_t a = 0; a < 3; ++a) {
        EXPECT_NEAR(back.geometry.spacing[a], v.geometry.spacing[a], 1e-6);
        EXPECT_NEAR(back.geometry.origin[a], v.geometry.origin[a], 1e-5);
    }
    EXPECT_EQ(orientation_code(back.geometry), "LPS");
}

TEST(MedicalOther, MetaImageNrrdPng) {
    const json want = load_json(fixture("other/expected.json"));
    const auto voxels = want["voxels"].get<std::vector<float>>();
    const Volume nrrd = read_volume(fixture("other/vol.nrrd"));
    EXPECT_EQ(nrrd.voxels, voxels);
    EXPECT_EQ(nrrd.geometry.spacing, (std::array<double, 3>{0.5, 0.75, 2.0}));
    EXPECT_EQ(nrrd.geometry.origin, (std::array<double, 3>{1.5, -2.0, 3.0}));
    EXPECT_EQ(orientation_code(nrrd.geometry), "RPS");
    const Volume mha = read_volume(fixture("other/vol.mha"));
    EXPECT_EQ(mha.voxels, voxels);
    EXPECT_EQ(mha.geometry.spacing, (std::array<double, 3>{0.5, 0.75, 2.0}));
    const Volume png = read_volume(fixture("other/slice.png"));
    EXPECT_EQ(png.geometry.dims, 2);
    EXPECT_EQ(png.geometry.size, (std::array<int64_t, 3>{9, 5, 1}));
    EXPECT_EQ(png.voxels, want["png_voxels"].get<std::vector<float>>());
    // Round trips through ITK's writers keep geometry and values.
    const std::string dir = scratch("other_out");
    for (const Volume* v : {&nrrd, &mha, &png}) {
        SCOPED_TRACE(v->source.path);
        std::vector<uint8_t> labels(v->voxels.size());
        for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(i % 3);
        const std::string out = dir + "/out" + output_extension(v->source);
        write_label_volume(out, v->geometry, v->source, labels.data());
        const Volume back = read_volume(out);
        EXPECT_EQ(back.geometry.size, v->geometry.size);
        for (size_t a = 0; a < 3; ++a) {
            EXPECT_NEAR(back.geometry.spacing[a], v->geometry.spacing[a], 1e-9);
            EXPECT_NEAR(back.geometry.origin[a], v->geometry.origin[a], 1e-9);
        }
        EXPECT_EQ(orientation_code(back.geometry), orientation_code(v->geometry));
        for (size_t i = 0; i < labels.size(); ++i) ASSERT_EQ(back.voxels[i], labels[i]);
    }
    // .mhd writes a header and a data file; both arrive.
    std::vector<uint8_t> labels(nrrd.voxels.size(), 2);
    VolumeSource mhd = nrrd.source;
    mhd.extension = ".mhd";
    write_label_volume(dir + "/two.mhd", nrrd.geometry, mhd, labels.data());
    const Volume two = read_volume(dir + "/two.mhd");
    EXPECT_EQ(two.voxels, std::vector<float>(labels.size(), 2.0f));
    expect_error([&] { write_float_volume(dir + "/p.png", png.geometry, png.source, png.voxels.data()); },
                 ErrorCode::kUnsupported, "p.png");
}

TEST(MedicalErrors, CorruptAndUnsupportedInputs) {
    expect_error([] { read_volume(fixture("corrupt/missing.nii.gz")); }, ErrorCode::kNotFound,
                 "missing.nii.gz");
    expect_error([] { read_volume(fixture("corrupt/empty.nii")); }, ErrorCode::kCorruptFile, "empty.nii");
    expect_error([] { read_volume(fixture("corrupt/truncated.nii.gz")); }, ErrorCode::kCorruptFile,
                 "truncated.nii.gz");
    expect_error([] { read_volume(fixture("corrupt/short_data.nii")); }, ErrorCode::kCorruptFile,
                 "short_data.nii");
    expect_error([] { read_volume(fixture("corrupt/not_nifti.nii.gz")); }, ErrorCode::kCorruptFile,
                 "not_nifti.nii.gz");
    expect_error([] { read_volume(fixture("corrupt/four_d.nii.gz")); }, ErrorCode::kUnsupported,
                 "four_d.nii.gz");
    expect_error([] { read_volume(fixture("corrupt/zero.nii")); }, ErrorCode::kShapeMismatch, "zero.nii");
    expect_error([] { read_volume(fixture("corrupt/nan.nii.gz")); }, ErrorCode::kCorruptFile, "nan.nii.gz");
    expect_error([] { read_volume(fixture("dicom/expected.json")); }, ErrorCode::kUnsupported,
                 "expected.json");
    expect_error([] { read_volume(fixture("nifti")); }, ErrorCode::kCorruptFile, "nifti");
    expect_error([] { read_volume(fixture("nifti/vol_ras.nii.gz"), 100); }, ErrorCode::kLimit,
                 "vol_ras.nii.gz");
    const Volume v = read_volume(nifti_file("ras"));
    std::vector<uint8_t> labels(v.voxels.size());
    expect_error(
        [&] { write_label_volume("/nonexistent-folder/x.nii.gz", v.geometry, v.source, labels.data()); },
        ErrorCode::kNotFound, "nonexistent-folder");
    VolumeGeometry wrong = v.geometry;
    wrong.size[2] = 1;
    expect_error([&] { write_label_volume(scratch("wrong") + "/x.nii.gz", wrong, v.source, labels.data()); },
                 ErrorCode::kShapeMismatch, "x.nii.gz");
}

}  // namespace
}  // namespace rv::image
