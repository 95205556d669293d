// The `segment` pipeline for 2-D models on medical volumes: nnU-Net-style case discovery
// (CASE_0000.nii.gz channel files, DICOM folders, single files), intensity normalisation,
// reorientation to the model's convention, slicing along its axis, resizing, batched forward,
// labels (and probabilities) back in the input's own grid and geometry.
// Layer: heads (apps/cmd_segment.cpp is the thin CLI around it).
// PyTorch counterpart: RWKV-UNet utils.py test_single_volume (slice loop, zoom order 3 in, order 0
// back) and nnU-Net's predict_from_raw_data (folder conventions).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "heads/segmenter.h"
#include "vision/image/medical_volume.h"

namespace rv::heads {

// The network side: preprocessing, class count and forward. segmenter_net() wraps a Segmenter;
// tests pass a stand-in.
struct SliceNet {
    std::string id;
    SegPreprocess preprocess;
    int num_classes = 2;
    // images [B, in_channels, H, W] -> logits [B, num_classes, H, W]
    std::function<void(const float* images, int B, int H, int W, float* logits)> forward;
};
SliceNet segmenter_net(const Segmenter& model);

struct SegmentOptions {
    int batch = 8;        // slices per forward call
    int slice_axis = -1;  // of the reoriented volume; -1 = the model's
    bool probabilities = false;
    std::function<void(int64_t done, int64_t total)> on_slices;  // progress, may be empty
};

struct SegmentedVolume {
    image::VolumeGeometry geometry;    // the input's
    image::VolumeSource source;        // of the first channel
    std::vector<uint8_t> labels;       // the input's grid, i fastest
    std::vector<float> probabilities;  // [num_classes][voxels] when asked (softmax)
    int64_t slices = 0;
};

// Channels must share one grid (same size; spacing/origin/direction within 1e-4) and there must
// be preprocess.in_channels of them (kShapeMismatch / kInvalidArgument otherwise). The channels
// are consumed (normalised in place). A 2-D image (geometry.dims == 2) is one slice shown as
// displayed: rows along j, columns along i, no reorientation.
SegmentedVolume segment_volume(const SliceNet& net, std::vector<image::Volume> channels,
                               const SegmentOptions& options);

// ---- Cases (nnU-Net conventions) ----

struct SegCase {
    std::string id;                     // CASE (file name without channel suffix and ending)
    std::vector<std::string> channels;  // CASE_0000.ext, CASE_0001.ext, ... or the one file / folder
    std::string output_extension;       // the input's ending (".nii.gz" for a DICOM folder)
};

// True for a file that starts a case: a volume file that is not CASE_000k with k > 0.
bool is_case_file(const std::string& path);
// The case an item (a file from is_case_file or a DICOM folder) stands for, with its channel
// files: CASE_0000.ext -> CASE_0000.ext ... CASE_{in_channels-1}.ext (all must exist:
// kNotFound naming the missing one); CASE.ext (no suffix) or a folder -> itself (kInvalidArgument
// when the model wants more than one channel).
SegCase case_for_item(const std::string& item, int in_channels);
// CASE from a file name: "brain_0000.nii.gz" -> "brain"; "brain.nii" -> "brain"; a folder -> its name.
std::string case_id(const std::string& item);

struct CaseTiming {
    double read_s = 0, compute_s = 0, write_s = 0;
    int64_t slices = 0;
    std::array<int64_t, 3> size{};
    std::string orientation;  // of the input, nibabel axcodes
};

// Reads the channels, segments, writes the label map to `label_path` (uint8, the input's geometry,
// atomically) and, when prob_paths is not empty, one float map per class to prob_paths[k].
CaseTiming segment_case(const SliceNet& net, const SegCase& c, const std::string& label_path,
                        const std::vector<std::string>& prob_paths, const SegmentOptions& options);

}  // namespace rv::heads
