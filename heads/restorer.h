// Restorer: a Restore-RWKV model behind an image-in, image-out interface: any size (reflect-padded
// to a multiple of 8 and cropped back), any channel count (a colour model on a gray image runs on
// the gray replicated to RGB and returns the channel mean; a gray model on a colour image runs
// channel by channel), alpha kept, super-resolution by the model's scale, and tiled inference
// with overlap and feathered blending when the whole image would not fit the memory budget.
// Layer: heads. PyTorch counterpart: the official test loop (model(img) on whole slices) plus the
// tiling of BasicSR/Real-ESRGAN's tile_process, with linear cross-fades instead of hard seams.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "backbone/restore_rwkv.h"
#include "vision/core/tensor.h"
#include "vision/image/image_float.h"

namespace rv::heads {

struct TileOptions {
    int64_t tile = -1;                      // input pixels per tile side: -1 auto (whole if it fits), 0 whole
    int64_t tile_pad = 16;                  // overlap context on each side, input pixels
    int64_t max_memory = int64_t{4} << 30;  // bytes the whole-image path may use (auto mode)
    bool serial = false;                    // run in the calling thread only
};

struct TileReport {
    int64_t tile = 0;  // tile side used, output pixels (0 = whole image)
    int64_t tiles = 1;
    int64_t estimated_bytes = 0;  // estimated peak of the path taken
};

class Restorer {
public:
    // model: a zoo id (bundled file) or a path to .safetensors (our metadata: arch, task, config)
    // or an official-style .pth/.safetensors state dict (config inferred from the shapes; then
    // `scale` must be given for a super-resolution model).
    static Restorer load(const std::string& model, int scale = 0);

    const backbone::RestoreRwkvConfig& config() const { return model_.config(); }
    int scale() const { return model_.config().scale; }
    int channels() const { return model_.config().inp_channels; }
    const std::string& task() const { return task_; }  // "denoise", "sr", "deblur", "" (unknown)
    const std::string& source() const { return source_; }

    // Channels-last planes of `C = channels()` channels: x [B, H, W, C] -> [B, s·H, s·W, C].
    Tensor run(const float* x, int64_t B, int64_t H, int64_t W, const TileOptions& opt,
               TileReport* report = nullptr) const;

    // A whole image (see the class comment for channels and alpha); bit depth kept.
    image::ImageF restore(const image::ImageF& in, const TileOptions& opt,
                          TileReport* report = nullptr) const;

    // Estimated peak bytes of a whole-image run on B×H×W input pixels (model activations,
    // padded copies, output). Tiles use the same estimate at the tile's size.
    int64_t estimate_bytes(int64_t B, int64_t H, int64_t W) const;
    // The tile side (output pixels, 0 = whole image) `opt` resolves to for a B×H×W input.
    // Throws kLimit when not even a 32-pixel tile fits opt.max_memory in auto mode.
    int64_t plan_tile(int64_t B, int64_t H, int64_t W, const TileOptions& opt) const;

private:
    void run_padded(const float* x, int64_t B, int64_t H, int64_t W, float* y, bool serial) const;

    backbone::RestoreRwkv model_;
    std::string task_, source_;
};

}  // namespace rv::heads
