// VRWKV channel mix forward. Layer: backbone.
#include "backbone/channel_mix.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "vision/ops/ref/shift_ref.h"

namespace rv::backbone {

void ChannelMix::load(const ParamReader& p, int64_t n, int64_t hidden_dims, bool with_key_norm) {
    dims = n;
    hidden = hidden_dims;
    spatial_mix_k = p.take("spatial_mix_k", {1, 1, n});
    spatial_mix_r = p.take("spatial_mix_r", {1, 1, n});
    key.set_weights(p.sub("key").take("weight", {hidden, n}), nullptr);
    receptance.set_weights(p.sub("receptance").take("weight", {n, n}), nullptr);
    value.set_weights(p.sub("value").take("weight", {n, hidden}), nullptr);
    if (with_key_norm) {
        key_norm.emplace();
        key_norm->load(p.sub("key_norm"), hidden);
    }
}

void ChannelMix::forward(const float* x, float* y, int64_t B, int64_t H, int64_t W) const {
    const int64_t rows = B * H * W, C = dims;
    const auto n = static_cast<size_t>(rows * C);
    std::vector<float> xs(n), mix(n), r(n), h(static_cast<size_t>(rows * hidden));
    ops::ref::q_shift(x, xs.data(), B, H, W, C);
    ops::ref::lerp_mix(x, xs.data(), spatial_mix_k.data(), mix.data(), rows, C);
    key.forward(mix.data(), rows, h.data());
    for (float& e : h) {
        const float relu = std::max(e, 0.0f);
        e = relu * relu;
    }
    if (key_norm) key_norm->forward(h.data(), h.data(), rows);
    ops::ref::lerp_mix(x, xs.data(), spatial_mix_r.data(), mix.data(), rows, C);
    receptance.forward(mix.data(), rows, r.data());
    value.forward(h.data(), rows, y);
    for (size_t i = 0; i < n; ++i) y[i] *= 1.0f / (1.0f + std::exp(-r[i]));
}

}  // namespace rv::backbone
