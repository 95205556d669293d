// Restore-RWKV building blocks: Omni-Shift (depthwise 5×5 folded from its branches at load time),
// the Re-WKV spatial mix (Bi-WKV raster, then column-major on the first pass's output), the channel
// mix, and the pre-norm block with layer scale. Plus the per-forward run context they share.
// Layer: backbone. PyTorch counterparts: OmniShift, VRWKV_SpatialMix, VRWKV_ChannelMix, Block in
// Yaziwel/Restore-RWKV model/Restore_RWKV.py (our tools/rwkv_ref/restore_rwkv.py). Spec §5.2.
//
// Maps are channels-last [B, H, W, C] (= tokens [B, T, C], T = H·W row-major) throughout.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backbone/forward_context.h"
#include "backbone/param_reader.h"
#include "vision/core/tensor.h"
#include "vision/ops/conv2d.h"
#include "vision/ops/kernels.h"
#include "vision/ops/split_linear.h"

namespace rv::backbone {

// One forward pass's state: a ForwardContext (pool or serial) whose matmul scratch grows on demand
// (the U-Net's matmuls have many shapes; sizing them all up front is not worth it here).
class RestoreRun {
public:
    explicit RestoreRun(bool serial);
    ForwardContext& ctx() { return ctx_; }
    // y = linear(x) over `rows` tokens (one image-sized call cut by run_linear's row blocks).
    void linear(const ops::SplitLinear& lin, const float* x, int64_t rows, float* y,
                const ops::PostOps& post);

    // Activation buffers reused from block to block (fresh zeroed allocations cost a page fault
    // per 4 KiB, a quarter of the run time at 512²). take() returns at least n floats, contents
    // undefined; give() returns it. A request no free buffer fits drops the smaller free ones, so
    // the pool never holds more than one level's set.
    Tensor take(int64_t n);
    void give(Tensor&& t);

private:
    ForwardContext ctx_;
    Tensor scratch_;
    std::vector<Tensor> free_;
};

// Omni-Shift: y = dwconv5×5(x) with the kernel α0·I + α1·W1×1 + α2·W3×3 + α3·W5×5 (zero-padded to
// 5×5), rebuilt from the branches here; the stored conv5x5_reparam.weight is marked used but never
// read (it holds whatever the last eval forward left in it).
class OmniShift {
public:
    void load(const ParamReader& p, int64_t C);
    void forward(RestoreRun& run, const float* x, int64_t B, int64_t H, int64_t W, float* y) const;
    const Tensor& kernel() const { return kernel_; }  // [C, 1, 5, 5] (tests)

private:
    ops::Conv2d conv_;
    Tensor kernel_;
};

class RestoreBlock {
public:
    // p: the block's scope ("encoder_level1.0."); C its width.
    void load(const ParamReader& p, int64_t C, double hidden_rate, bool key_norm,
              const ops::BiWkvParams& wkv);
    // x [B, H, W, C] updated in place. trace_prefix names intermediates ("<level>.<i>.").
    void forward(RestoreRun& run, float* x, int64_t B, int64_t H, int64_t W,
                 const std::string& trace_prefix) const;
    // Bytes of activations a forward at B×H×W allocates at its peak (besides x itself).
    int64_t peak_bytes(int64_t B, int64_t H, int64_t W) const;
    int64_t channels() const { return C_; }

private:
    void attention(RestoreRun& run, float* x, int64_t B, int64_t H, int64_t W, const std::string& pfx) const;
    void channel_mix(RestoreRun& run, float* x, int64_t B, int64_t H, int64_t W) const;

    int64_t C_ = 0, hidden_ = 0;
    ops::BiWkvParams wkv_;
    Tensor ln1_w_, ln1_b_, ln2_w_, ln2_b_, gamma1_, gamma2_;
    // att
    OmniShift att_shift_;
    ops::SplitLinear att_key_, att_value_, att_receptance_, att_output_;
    Tensor decay_, first_;  // [2, C]: raster pass, column pass
    bool key_norm_ = false;
    Tensor att_kn_w_, att_kn_b_, ffn_kn_w_, ffn_kn_b_;
    // ffn
    OmniShift ffn_shift_;
    ops::SplitLinear ffn_key_, ffn_receptance_, ffn_value_;
};

}  // namespace rv::backbone
