// Medical volumes: voxels (float) with their geometry, read from NIfTI (.nii, .nii.gz), DICOM
// series (a folder), MetaImage (.mha, .mhd), NRRD (.nrrd, .nhdr) and 2-D PNG/TIFF slices, and label
// maps / probability maps written back with the input's geometry; exact reorientation
// (permutation and flips of the voxel grid, never resampling).
// Layer: vision/image (ITK stays inside vision/image/medical*.cpp; this header shows our own types).
// PyTorch counterpart: none; nnU-Net reads and writes through SimpleITK (SimpleITKIO), nibabel's
// as_closest_canonical / ornt_transform play the role of reorient().
//
// Conventions
// - Index order i, j, k with i fastest in memory (ITK's buffer order, NIfTI's file order). A numpy
//   array from nibabel is indexed [i, j, k]; one from SimpleITK is [k, j, i].
// - World coordinates are ITK's (LPS: +x = left, +y = posterior, +z = superior), in millimetres.
//   direction is row-major 3×3; column c is the world direction of index axis c.
// - Orientation codes are nibabel's axcodes: letter c names where index axis c points as it
//   increases ("RAS": +i → right, +j → anterior, +k → superior). ITK's own orientation enums
//   name the opposite ends; we never use them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace rv::image {

struct VolumeGeometry {
    int dims = 3;                            // 2 for a 2-D image (size[2] == 1), else 3
    std::array<int64_t, 3> size{1, 1, 1};    // voxels along i, j, k
    std::array<double, 3> spacing{1, 1, 1};  // mm along i, j, k
    std::array<double, 3> origin{0, 0, 0};   // world position of voxel (0, 0, 0), LPS mm
    std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};
    int64_t voxel_count() const { return size[0] * size[1] * size[2]; }
};

// What a writer needs to give an output the input's geometry exactly.
struct VolumeSource {
    std::string path;       // the input file, or the DICOM folder
    std::string extension;  // ".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr", ".png", ".tif",
                            // ".tiff", or "" for a DICOM series folder
    // The input's NIfTI-1 header (348 bytes, in the file's byte order) for .nii / .nii.gz: label
    // and probability maps are written with it, so dim, pixdim, qform/sform codes, quaternion,
    // offsets, srow_* and units are the input's bit for bit. Empty for other formats.
    std::vector<uint8_t> nifti_header;
    std::string component_type;  // the file's voxel type as ITK names it ("short", "unsigned_char", ...)
};

struct Volume {
    VolumeGeometry geometry;
    VolumeSource source;
    std::vector<float> voxels;  // geometry.voxel_count() values, i fastest
};

// Reads a volume: a file of a format above, or a folder holding one DICOM series. Multi-component
// pixels (RGB PNG) become their luminance. Throws rv::Error naming the path: kNotFound (missing),
// kCorruptFile (unreadable, truncated, NaN or infinite voxels), kUnsupported (unknown format,
// more than 3 dimensions with more than one volume, several DICOM series in one folder),
// kShapeMismatch (a zero-size dimension), kLimit (more than max_voxels).
Volume read_volume(const std::string& path, int64_t max_voxels = int64_t{1} << 31);

// True for the file endings read_volume knows (case-insensitive); "" for others.
std::string volume_extension(const std::string& path);
bool is_dicom_folder(const std::string& path);

// Writes a uint8 label map / a float map with `source`'s geometry (for NIfTI: its header, with only
// datatype, bitpix, vox_offset, scaling and cal_min/max changed; extensions are not copied).
// `path` should end in source.extension (a DICOM series is written as .nii.gz).
// The file appears atomically: it is written into a hidden temporary folder next to `path` and
// renamed into place (data file before header for .mhd/.nhdr), so a killed run leaves no partial
// output under the final name. Throws rv::Error(kIo) on failure.
void write_label_volume(const std::string& path, const VolumeGeometry& geometry, const VolumeSource& source,
                        const uint8_t* labels);
void write_float_volume(const std::string& path, const VolumeGeometry& geometry, const VolumeSource& source,
                        const float* values);

// The output file ending for an input: its own, or ".nii.gz" for a DICOM folder.
std::string output_extension(const VolumeSource& source);

// ---- Orientation ----

// nibabel axcodes of a geometry (the closest axis for an oblique direction), e.g. "LPS".
std::string orientation_code(const VolumeGeometry& g);

// A permutation and flips of the voxel grid that turns the input's orientation into `target`.
// Exact: every output voxel is one input voxel.
struct Reorientation {
    std::array<int, 3> source_axis{0, 1, 2};  // output axis a is input axis source_axis[a]
    std::array<bool, 3> flip{false, false, false};
    std::array<int64_t, 3> in_size{1, 1, 1};
    std::array<int64_t, 3> out_size{1, 1, 1};
    bool identity() const;
    Reorientation inverse() const;
};

// Throws kInvalidArgument for a code that is not three letters from {L|R, A|P, S|I}, one per world axis.
Reorientation plan_reorientation(const VolumeGeometry& g, const std::string& target);
// The geometry of the reoriented grid (same world positions of the same voxels).
VolumeGeometry reoriented_geometry(const VolumeGeometry& g, const Reorientation& r);

// out[o] = in[index of o in the input grid]; out must hold in_size's voxel count values.
void reorient(const float* in, float* out, const Reorientation& r);
void reorient(const uint8_t* in, uint8_t* out, const Reorientation& r);

}  // namespace rv::image
