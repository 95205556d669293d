// Segmenter: a 2-D semantic segmentation model (today RWKV-UNet; later UperNet on a VRWKV adapter)
// with the preprocessing it was trained with, loaded from a zoo id or a weights file.
// Layer: heads. PyTorch counterpart: RWKV_UNet / RWKV_UNet_S / RWKV_UNet_T in
// juntaoJianggavin/RWKV-UNet rwkv_unet.py (our reference: tools/rwkv_ref/rwkv_unet.py); spec §6.1.
//
// Contract for the `segment` pipeline (vision/image/medical* + apps, owned by medical-io):
//   1. Segmenter::load(model) once; it is immutable afterwards.
//   2. Read preprocess(): reorient the volume to `orientation` (nibabel axis codes: the direction
//      each voxel index i, j, k increases TOWARDS; "RAS" = nibabel as_closest_canonical), normalise
//      intensities per `intensity` (statistics over the whole volume), cut 2-D slices along
//      `slice_axis` (rows/columns as described at SegPreprocess::slice_axis), resize each slice to
//      input_h × input_w with `resize_in`, stack B slices as [B, in_channels, H, W].
//   3. forward() gives logits [B, num_classes, H, W]; argmax per pixel (class 0 = background),
//      resize the label (or the logits) back to the slice's own size with `resize_out`, reassemble
//      the volume and reorient back to the input's geometry.
// "Backbone features at several strides → head → per-pixel logits" stays inside the model
// implementation (SegModel below); the pipeline sees only images in, logits out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rv::heads {

// How intensities become network inputs.
struct SegIntensity {
    // "percentile": per VOLUME (computed once over all voxels, not per slice), lo = percentile(p_lo),
    //   hi = percentile(p_hi) over all voxels (only voxels != 0 when `nonzero_only`),
    //   x' = clamp((x - lo) / (hi - lo), 0, 1); hi == lo gives x' = 0.
    //   Percentile = numpy.percentile's default linear interpolation.
    // "window": x' = clamp((x - lo) / (hi - lo), 0, 1) with fixed lo/hi (CT in HU, e.g. Synapse
    //   [-125, 275]).
    // "none": x' = x.
    std::string mode = "percentile";
    double p_lo = 0.5, p_hi = 99.5;  // for "percentile"
    bool nonzero_only = false;       // for "percentile"
    double lo = 0.0, hi = 1.0;       // for "window"
    // Then (x' - mean) / std (mean 0, std 1 = no-op).
    double mean = 0.0, std = 1.0;
};

struct SegPreprocess {
    int input_h = 224, input_w = 224;  // slice size the network sees (multiples of 16)
    int in_channels = 1;               // channels of the images passed to forward()
    // The model repeats a 1-channel input to the 3 channels its stem expects (official B/S do
    // x.repeat(1,3,1,1) inside forward); the caller passes 1 channel either way when in_channels==1.
    bool repeat_gray_to_rgb = true;
    // Orientation of the reoriented volume as nibabel axis codes: the direction each voxel axis
    // (i, j, k) points TO. "RAS" = nibabel as_closest_canonical(); in ITK naming that is
    // ITK_COORDINATE_ORIENTATION_LPI (ITK names the direction an axis comes FROM).
    std::string orientation = "RAS";
    // The axis the pipeline slices along (of the reoriented i, j, k): 0 = i (sagittal in RAS),
    // 1 = j (coronal), 2 = k (axial). `any_axis`: the model was trained on slices from all three
    // orientations, so another axis (a user flag) is legitimate too.
    int slice_axis = 2;
    bool any_axis = false;  // true when trained on all three orientations
    // Slice layout: slice s along axis a of the reoriented volume v[i][j][k] is numpy's
    // v.take(s, axis=a) with no transpose or flip: ROWS run along the lower remaining axis,
    // COLUMNS along the higher (axis 2 → rows i, cols j; axis 1 → rows i, cols k;
    // axis 0 → rows j, cols k).
    // Resampling of the slice to input_h × input_w and of the prediction back:
    //   "cubic_spline" = scipy.ndimage.zoom(order=3) (official test script, TransUNet style);
    //   "bilinear" = align_corners=False bilinear without antialiasing (torch F.interpolate,
    //   cv2 INTER_LINEAR).
    // resize_out: "bilinear_logits" = logits resized back bilinearly (align_corners=False), then
    //   argmax; "nearest_labels" = argmax at input_h × input_w, labels back by
    //   scipy.ndimage.zoom(order=0) (official test script).
    std::string resize_in = "bilinear";
    std::string resize_out = "bilinear_logits";
    // Voxel spacing the model was trained at, mm (0 = any: slices are simply resized).
    double train_spacing_mm = 0.0;
    SegIntensity intensity;
};

class SegModel;  // the network (backbone + decoder head), defined in heads/segmenter.cpp

class Segmenter {
public:
    // `model` is a zoo id (e.g. "brainmask_t1") or a .safetensors / .pth path. A .safetensors
    // written by tools/ carries its config and preprocessing in the metadata ("config",
    // "preprocess", "labels"); an official .pth needs `arch` ("rwkv_unet_t|s|b") and num_classes
    // from the file. Strict key checking; errors name the file and the key.
    static Segmenter load(const std::string& model);

    int in_channels() const;
    int num_classes() const;
    const std::vector<std::string>& class_names() const;  // [num_classes], "background" first
    const SegPreprocess& preprocess() const;
    const std::string& id() const;            // zoo id or file stem
    const std::string& weights_path() const;  // the file that was loaded

    // images [B, in_channels, H, W] (already preprocessed, H and W multiples of 16; other sizes
    // than input_h × input_w work but are not what the model was trained at) → logits
    // [B, num_classes, H, W]. const and thread-safe: concurrent calls from several threads are
    // fine (each call uses its own scratch memory); work inside one call is spread over the
    // process's TBB pool (rv::set_num_threads / --threads).
    void forward(const float* images_nchw, int B, int H, int W, float* logits_nchw) const;

    Segmenter(Segmenter&&) noexcept;
    Segmenter& operator=(Segmenter&&) noexcept;
    ~Segmenter();

private:
    Segmenter();
    std::unique_ptr<SegModel> model_;
};

}  // namespace rv::heads
