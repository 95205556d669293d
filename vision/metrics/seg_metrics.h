// Segmentation metrics on 3-D label volumes: Dice and HD95 exactly as medpy.metric.binary (dc, hd95)
// with voxel spacing, the exact Euclidean distance transform they rest on, and the empty-mask rules
// of the TransUNet / RWKV-UNet test script (calculate_metric_percase) or of nnU-Net.
// Layer: vision/metrics (plain loops, no dependencies). PyTorch counterpart: medpy.metric.binary.dc
// and hd95 (scipy.ndimage.distance_transform_edt + binary_erosion), RWKV-UNet utils.py
// calculate_metric_percase; tools/seg_metrics_ref.py is the Python reference.
//
// Volumes are i-fastest (size[0] fastest), spacing in mm per axis. A 2-D mask is size[2] == 1.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace rv::metrics {

using Size3 = std::array<int64_t, 3>;
using Spacing3 = std::array<double, 3>;

// Squared Euclidean distance (mm²) from every voxel to the nearest voxel with feature[v] != 0,
// exact, in O(voxels) (Felzenszwalb & Huttenlocher's lower envelope of parabolas, one axis after the
// other, with the axis spacing). Voxels with no feature anywhere get +infinity.
std::vector<double> edt_squared(const uint8_t* feature, const Size3& size, const Spacing3& spacing);

// The surface of a binary mask as medpy takes it: mask XOR its erosion by the 6-connected cross
// (scipy generate_binary_structure(3, 1)), voxels outside the volume counting as background.
std::vector<uint8_t> mask_surface(const uint8_t* mask, const Size3& size);

// Directed surface distances: for every surface voxel of `a`, the distance (mm) to the nearest
// surface voxel of `b` (medpy __surface_distances(a, b)). Both masks must be non-empty.
std::vector<double> surface_distances(const uint8_t* a, const uint8_t* b, const Size3& size,
                                      const Spacing3& spacing);

// medpy hd95: the 95th percentile (numpy's default linear interpolation) of the pooled directed
// surface distances both ways. Both masks must be non-empty (throws kInvalidArgument otherwise).
double hd95(const uint8_t* pred, const uint8_t* ref, const Size3& size, const Spacing3& spacing);

// numpy.percentile(values, q) with the default 'linear' method; values is reordered.
double percentile_linear(std::vector<double>& values, double q);

// What to report when a mask is empty.
enum class EmptyPolicy {
    // RWKV-UNet / TransUNet calculate_metric_percase: both non-empty → (dice, hd95);
    // prediction non-empty, reference empty → (1, 0); otherwise (prediction empty) → (0, 0).
    kTransUnet,
    // nnU-Net: Dice NaN when both are empty (left out of means), 0 when only one is; HD95 NaN
    // whenever either is empty.
    kNnUnet,
};
EmptyPolicy parse_empty_policy(const std::string& name);  // "transunet" | "nnunet"
std::string empty_policy_name(EmptyPolicy p);

// Counts for one label in one case, and HD95 when both masks are non-empty.
struct LabelCounts {
    int64_t pred = 0, ref = 0, intersection = 0;
    double hd95 = 0.0;  // valid when pred > 0 && ref > 0
};

struct DiceHd95 {
    double dice = 0.0, hd95 = 0.0;
};

// Applies the policy (NaN where the policy has no value).
DiceHd95 apply_policy(const LabelCounts& c, EmptyPolicy policy);

// Counts and HD95 for `label` in integer label volumes (i-fastest).
LabelCounts label_counts(const uint8_t* pred_labels, const uint8_t* ref_labels, int label, const Size3& size,
                         const Spacing3& spacing);

}  // namespace rv::metrics
