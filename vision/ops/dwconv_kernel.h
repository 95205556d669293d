// Internal to vision/ops: our own depthwise convolution kernel on channels-last maps, used by
// ops::Conv2d where it beats oneDNN's (see benchmarks/RESULTS.md, "Dense ops"). Layer: vision/ops.
// PyTorch counterpart: nn.Conv2d(C, C, k, groups=C). Tested against ops::ref::conv2d.
// The AVX2 translation unit must not instantiate inline or template code shared with other units
// (see kernels_internal.h), so the interface is a plain struct of pointers.
#pragma once

#include <cstdint>

namespace rv::ops {

struct DwConvArgs {
    const float* x = nullptr;         // one image [H, W, C]
    const float* w = nullptr;         // repacked [kh, kw, C]
    const float* bias = nullptr;      // [C] or nullptr
    const float* residual = nullptr;  // [OH − res_row0, OW, C] from output row res_row0, or nullptr
    int64_t res_row0 = 0;             // (residual may equal y when res_row0 = 0)
    float* y = nullptr;               // one image [OH, OW, C]
    int64_t H = 0, W = 0, C = 0, OW = 0;
    int64_t kh = 0, kw = 0, stride_h = 1, stride_w = 1, pad_t = 0, pad_l = 0, dil_h = 1, dil_w = 1;
    int act = 0;               // static_cast<int>(ops::Activation)
    int64_t oh0 = 0, oh1 = 0;  // output rows to compute
};

namespace avx2 {
void dwconv(const DwConvArgs& a);  // x86/dwconv_avx2.cpp
}

}  // namespace rv::ops
