// Conv2dShape arithmetic and BatchNorm / affine folding (no oneDNN). Layer: vision/ops.
#include <cmath>
#include <vector>

#include "vision/core/error.h"
#include "vision/ops/conv2d.h"

namespace rv::ops {

Conv2dShape Conv2dShape::square(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t groups,
                                int64_t d) {
    Conv2dShape c;
    c.in = in;
    c.out = out;
    c.kh = c.kw = k;
    c.stride_h = c.stride_w = s;
    const int64_t pad = p < 0 ? (k / 2) * d : p;
    c.pad_t = c.pad_l = c.pad_b = c.pad_r = pad;
    c.dil_h = c.dil_w = d;
    c.groups = groups;
    return c;
}

Conv2dShape Conv2dShape::depthwise(int64_t C, int64_t k, int64_t s, int64_t p, int64_t d) {
    return square(C, C, k, s, p, C, d);
}

int64_t Conv2dShape::out_h(int64_t H) const {
    const int64_t span = H + pad_t + pad_b - dil_h * (kh - 1) - 1;
    return span < 0 ? 0 : span / stride_h + 1;
}

int64_t Conv2dShape::out_w(int64_t W) const {
    const int64_t span = W + pad_l + pad_r - dil_w * (kw - 1) - 1;
    return span < 0 ? 0 : span / stride_w + 1;
}

namespace {

void check_vector(const Tensor& t, int64_t C, const char* what) {
    RV_CHECK(t.numel() == C, ErrorCode::kShapeMismatch, "BatchNorm ", what, " has shape ",
             shape_str(t.shape()), ", expected [", C, "] (one value per conv output channel)");
}

}  // namespace

void batch_norm_scale_shift(const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                            const Tensor& running_var, float eps, Tensor& scale, Tensor& shift) {
    const int64_t C = running_mean.numel();
    RV_CHECK(C > 0, ErrorCode::kShapeMismatch, "BatchNorm running_mean is empty");
    check_vector(running_var, C, "running_var");
    if (!gamma.empty()) check_vector(gamma, C, "weight");
    if (!beta.empty()) check_vector(beta, C, "bias");
    scale = Tensor({C});
    shift = Tensor({C});
    for (int64_t c = 0; c < C; ++c) {
        // In float, as PyTorch's eval batch_norm computes invstd = 1 / sqrt(var + eps).
        const float invstd = 1.0f / std::sqrt(running_var[c] + eps);
        const float g = gamma.empty() ? 1.0f : gamma[c];
        const float b = beta.empty() ? 0.0f : beta[c];
        scale[c] = g * invstd;
        shift[c] = b - running_mean[c] * g * invstd;
    }
}

void fold_batch_norm(Tensor& weight, Tensor& bias, const Tensor& gamma, const Tensor& beta,
                     const Tensor& running_mean, const Tensor& running_var, float eps) {
    RV_CHECK(weight.ndim() == 4, ErrorCode::kShapeMismatch,
             "conv weight must be 4-D [out, in/groups, kh, kw], got ", shape_str(weight.shape()));
    const int64_t out = weight.dim(0);
    check_vector(running_mean, out, "running_mean");
    Tensor scale, shift;
    batch_norm_scale_shift(gamma, beta, running_mean, running_var, eps, scale, shift);
    if (bias.empty()) bias = Tensor({out});
    check_vector(bias, out, "conv bias");
    const int64_t per = weight.numel() / out;
    for (int64_t o = 0; o < out; ++o) {
        for (int64_t i = 0; i < per; ++i) weight[o * per + i] *= scale[o];
        bias[o] = bias[o] * scale[o] + shift[o];
    }
}

void fold_affine_before_conv(Tensor& weight, Tensor& bias, const Conv2dShape& s, const Tensor& scale,
                             const Tensor& shift) {
    RV_CHECK(s.pad_t == 0 && s.pad_l == 0 && s.pad_b == 0 && s.pad_r == 0, ErrorCode::kUnsupported,
             "an affine map (BatchNorm) before a zero-padded conv cannot be folded into it: apply it with "
             "ops::channel_affine instead");
    RV_CHECK(weight.ndim() == 4 && weight.dim(0) == s.out && weight.dim(1) * s.groups == s.in,
             ErrorCode::kShapeMismatch, "conv weight has shape ", shape_str(weight.shape()), ", expected [",
             s.out, ", ", s.in / std::max<int64_t>(s.groups, 1), ", ", s.kh, ", ", s.kw, "]");
    RV_CHECK(scale.numel() == s.in && (shift.empty() || shift.numel() == s.in), ErrorCode::kShapeMismatch,
             "affine scale/shift must have ", s.in, " values (the conv's input channels)");
    if (bias.empty()) bias = Tensor({s.out});
    const int64_t cin_g = s.in / s.groups, cout_g = s.out / s.groups, taps = s.kh * s.kw;
    for (int64_t o = 0; o < s.out; ++o) {
        const int64_t c0 = (o / cout_g) * cin_g;
        double extra = 0.0;
        for (int64_t c = 0; c < cin_g; ++c)
            for (int64_t t = 0; t < taps; ++t) {
                float& w = weight[(o * cin_g + c) * taps + t];
                if (!shift.empty()) extra += static_cast<double>(w) * static_cast<double>(shift[c0 + c]);
                w *= scale[c0 + c];
            }
        bias[o] = static_cast<float>(static_cast<double>(bias[o]) + extra);
    }
}

}  // namespace rv::ops
