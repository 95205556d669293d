// NIfTI-1 header pass-through: read the 348 header bytes of a .nii / .nii.gz as they are in the
// file, and write a volume with them so its geometry fields stay bit-exact. Internal to the
// medical IO of vision/image (medical_io_itk.cpp uses it). PyTorch counterpart: none (nibabel's
// Nifti1Header plays this role in Python).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rv::image::nifti {

inline constexpr size_t kHeaderSize = 348;

// The first 348 bytes of `path` if it is a single-file NIfTI-1 (.nii, .nii.gz: "n+1" magic), in the
// file's byte order; empty for anything else (NIfTI-2, .hdr/.img pairs). Throws kCorruptFile for
// a file too short to hold a header.
std::vector<uint8_t> read_header(const std::string& path);

// Checks what ITK's NIfTI reader lets through silently (it zero-fills a truncated file and turns
// NaN voxels into 0): dim[1..dim[0]] >= 1 (kShapeMismatch), the file holds every voxel the header
// declares (kCorruptFile), and float voxels are finite (kCorruptFile). Streams the data once.
void check_data(const std::string& path, const std::vector<uint8_t>& h);

// Field accessors in the header's own byte order.
bool header_swapped(const std::vector<uint8_t>& h);
int16_t get_i16(const std::vector<uint8_t>& h, size_t offset);
float get_f32(const std::vector<uint8_t>& h, size_t offset);

enum class DataType : int16_t { kUInt8 = 2, kFloat32 = 16 };

// Writes header `h` (with datatype, bitpix, vox_offset = 352, scl_slope = 1, scl_inter = 0,
// cal_min = cal_max = 0, glmin = glmax = 0 changed, nothing else) and `count` voxels of `data` to
// `path` (gzip-compressed when it ends in .gz). Throws kIo.
void write(const std::string& path, const std::vector<uint8_t>& h, DataType type, const void* data,
           int64_t count);

}  // namespace rv::image::nifti
