// Data-movement and element-wise ops of the dense-prediction models on channels-last (NHWC) float32
// maps [B, H, W, C] (= tokens [B, T, C], T = H·W row-major). Layer: vision/ops.
// PyTorch counterparts (each matched by tests/ops/test_dense_ops.cpp against fixtures of
// tools/make_conv_fixtures.py): nn.PixelShuffle / nn.PixelUnshuffle (Restore-RWKV Up/Down, spec
// §5.1), F.interpolate bilinear / nearest (RWKV-UNet UpBlock and CCM, spec §6.1), F.pad reflect
// (Restore-RWKV inputs padded to a multiple of 8), torch.cat / torch.split on channels, the SE
// block's x.mean((2, 3)) and x·gate, eval BatchNorm as an affine map, element-wise add / mul.
//
// Channel LayerNorm on an NHWC map (RWKV-UNet LayerNorm2d) needs no op of its own: it is the
// existing row LayerNorm over C with rows = B·H·W (ops::kernels().layer_norm, ops::ref::layer_norm).
//
// These are plain loops (memory-bound; each is its own reference). They run in the calling thread,
// never allocate, and unless stated otherwise y must not alias x.
#pragma once

#include <cstdint>

#include "vision/ops/activation.h"

namespace rv::ops {

// nn.PixelShuffle(r): x [B, H, W, C·r²] -> y [B, H·r, W·r, C], with PyTorch's channel order:
// y[b, h·r + i, w·r + j, c] = x[b, h, w, c·r² + i·r + j]. C_in must be a multiple of r².
void pixel_shuffle(const float* x, int64_t B, int64_t H, int64_t W, int64_t C_in, int64_t r, float* y);

// nn.PixelUnshuffle(r): x [B, H, W, C] -> y [B, H/r, W/r, C·r²], the inverse:
// y[b, h, w, c·r² + i·r + j] = x[b, h·r + i, w·r + j, c]. H and W must be multiples of r.
void pixel_unshuffle(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t r, float* y);

// F.interpolate(mode='bilinear', antialias=False) from H×W to OH×OW (up or down), per PyTorch
// (upsample_bilinear2d): align_corners true → src = dst·(in − 1)/(out − 1) (0 when out = 1);
// false → src = max(0, (dst + 0.5)·scale − 0.5); neighbours clamped to the border, weights
// computed in float like PyTorch's CPU kernel.
// scale_factor_h/w: 0 when the output size was given (F.interpolate(size=…); then scale = in/out),
// or the scale_factor itself when one was (nn.Upsample(scale_factor=2) → 2.0; then scale =
// 1/scale_factor, which differs from in/out for non-integer factors). A given factor must agree
// with the sizes as PyTorch derives them, OH = floor(H·scale_factor_h) (kInvalidArgument otherwise,
// which catches 0.5 passed for a ×2 upsample).
void bilinear_resize(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                     bool align_corners, float* y, double scale_factor_h = 0.0, double scale_factor_w = 0.0);

// F.interpolate(mode='nearest') (not 'nearest-exact'): src = min(floor(dst·scale), in − 1) with
// scale = 1/scale_factor when one is given (> 0, checked as for bilinear_resize), else in/out
// (in float, like PyTorch).
void nearest_resize(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                    float* y, double scale_factor_h = 0.0, double scale_factor_w = 0.0);

// F.pad(x, (l, r, t, b), mode='reflect') on the H and W axes: x [B, H, W, C] ->
// y [B, H + t + b, W + l + r, C]; the border row/column is not repeated (index −1 reads 1).
// Each pad must be < the size of its axis (PyTorch's rule; kInvalidArgument otherwise).
void pad_reflect(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t pad_t, int64_t pad_b,
                 int64_t pad_l, int64_t pad_r, float* y);

// y [B, OH, OW, C] = x[:, top:top+OH, left:left+OW, :] (undoes a pad); the window must fit.
void crop(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left, int64_t OH,
          int64_t OW, float* y);

// Channel slices, for torch.cat / torch.split on dim 1: for each of `rows` positions,
// dst[row, dst_c0 : dst_c0 + n] = src[row, src_c0 : src_c0 + n] (src has src_C channels, dst dst_C).
void copy_channels(const float* src, int64_t src_C, int64_t src_c0, float* dst, int64_t dst_C, int64_t dst_c0,
                   int64_t n, int64_t rows);
// torch.cat([a, b], dim=1): a [rows, Ca], b [rows, Cb] -> y [rows, Ca + Cb].
void concat_channels(const float* a, int64_t Ca, const float* b, int64_t Cb, int64_t rows, float* y);

// x.mean((2, 3)): x [B, HW, C] -> y [B, C] (sums in double).
void global_avg_pool(const float* x, int64_t B, int64_t HW, int64_t C, float* y);
// SE gating x·gate (gate broadcast over positions): x [B, HW, C], gate [B, C] -> y; y may alias x.
void scale_channels(const float* x, const float* gate, int64_t B, int64_t HW, int64_t C, float* y);

// y = act(x·scale + shift) per channel (eval BatchNorm, see batch_norm_scale_shift in conv2d.h):
// x [rows, C]; scale or shift may be nullptr (1 / 0); y may alias x.
void channel_affine(const float* x, const float* scale, const float* shift, int64_t rows, int64_t C, float* y,
                    Activation act = Activation::kNone);

// Element-wise over n values; y may alias a or b.
void add(const float* a, const float* b, int64_t n, float* y);
void mul(const float* a, const float* b, int64_t n, float* y);

}  // namespace rv::ops
