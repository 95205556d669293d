// Plain reference convolution (direct loops, double accumulation). Layer: vision/ops/ref.
#include "vision/ops/ref/conv2d_ref.h"

#include "vision/core/error.h"

namespace rv::ops::ref {

void conv2d(const float* x, const float* weight, const float* bias, const Conv2dShape& s, int64_t B,
            int64_t H, int64_t W, float* y, const Conv2dPost& post) {
    const int64_t OH = s.out_h(H), OW = s.out_w(W);
    RV_ASSERT(OH > 0 && OW > 0 && s.groups > 0 && s.in % s.groups == 0 && s.out % s.groups == 0);
    const int64_t cin_g = s.in / s.groups, cout_g = s.out / s.groups;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t out_index = ((b * OH + oh) * OW + ow) * s.out;
                for (int64_t o = 0; o < s.out; ++o) {
                    const int64_t c0 = (o / cout_g) * cin_g;  // first input channel of o's group
                    double acc = bias ? static_cast<double>(bias[o]) : 0.0;
                    for (int64_t i = 0; i < s.kh; ++i) {
                        const int64_t ih = oh * s.stride_h - s.pad_t + i * s.dil_h;
                        if (ih < 0 || ih >= H) continue;  // zero padding
                        for (int64_t j = 0; j < s.kw; ++j) {
                            const int64_t iw = ow * s.stride_w - s.pad_l + j * s.dil_w;
                            if (iw < 0 || iw >= W) continue;
                            const float* xp = x + ((b * H + ih) * W + iw) * s.in + c0;
                            const float* wp = weight + (o * cin_g * s.kh + i) * s.kw + j;  // [o, 0, i, j]
                            for (int64_t c = 0; c < cin_g; ++c)
                                acc += static_cast<double>(xp[c]) * static_cast<double>(wp[c * s.kh * s.kw]);
                        }
                    }
                    float v = activate(post.act, static_cast<float>(acc));
                    if (post.residual) v += post.residual[out_index + o];
                    y[out_index + o] = v;
                }
            }
}

}  // namespace rv::ops::ref
