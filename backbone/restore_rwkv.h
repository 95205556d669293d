// Restore-RWKV: the Restormer-shaped 4-level U-Net of RWKV blocks for image restoration.
// Layer: backbone. PyTorch counterpart: Restore_RWKV in Yaziwel/Restore-RWKV model/Restore_RWKV.py
// (our tools/rwkv_ref/restore_rwkv.py). Spec §5.1.
//
// Loads by the official state-dict keys (patch_embed, encoder_level1..3, latent, decoder_level3..1,
// refinement, down1_2.., up4_3.., reduce_chan_level3/2, output); the unused att.dwconv.weight and
// the conv5x5_reparam copies are accepted and ignored. Works on channels-last maps whose H and W
// are multiples of 8 (heads/restorer pads); super-resolution inputs are upsampled by the caller.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "backbone/forward_context.h"
#include "backbone/restore_rwkv_block.h"
#include "backbone/restore_rwkv_config.h"
#include "vision/ops/conv2d.h"
#include "vision/weights/weight_store.h"

namespace rv::backbone {

class RestoreRwkv {
public:
    // Takes every key the config implies from `store` (strict: unexpected keys are an error naming
    // them, missing keys / wrong shapes name the file, key and both shapes).
    static RestoreRwkv load(weights::WeightStore& store, const RestoreRwkvConfig& cfg);

    const RestoreRwkvConfig& config() const { return cfg_; }

    // x [B, H, W, C] -> y [B, H, W, C] (C = inp_channels), H and W multiples of 8; y must not
    // alias x. serial: run in the calling thread only. trace: intermediates named as the PyTorch
    // reference records them ("patch_embed", "<level>.<i>", "<level>.<i>.att.wkv0", "output").
    void forward(const float* x, int64_t B, int64_t H, int64_t W, float* y, bool serial = false,
                 const TraceFn& trace = {}) const;

    // Activation bytes a forward at B×H×W holds at its peak (x and y not included).
    int64_t peak_bytes(int64_t B, int64_t H, int64_t W) const;

private:
    using Level = std::vector<RestoreBlock>;
    void run_level(RestoreRun& run, const Level& level, const std::string& name, float* x, int64_t B,
                   int64_t H, int64_t W) const;

    RestoreRwkvConfig cfg_;
    ops::Conv2d patch_embed_, output_;
    std::array<ops::Conv2d, 3> down_;  // down1_2, down2_3, down3_4 (n -> n/2, then PixelUnshuffle)
    std::array<ops::Conv2d, 3> up_;    // up4_3, up3_2, up2_1 (n -> 2n, then PixelShuffle)
    ops::Conv2d reduce3_, reduce2_;
    Level enc1_, enc2_, enc3_, latent_, dec3_, dec2_, dec1_, refine_;
};

}  // namespace rv::backbone
