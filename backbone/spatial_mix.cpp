// VRWKV spatial mix forward. Layer: backbone.
#include "backbone/spatial_mix.h"

#include <cmath>
#include <vector>

#include "vision/ops/ref/shift_ref.h"

namespace rv::backbone {

static ops::Linear load_linear(const ParamReader& p, const std::string& name, int64_t out, int64_t in) {
    ops::Linear l;
    l.set_weights(p.sub(name).take("weight", {out, in}), nullptr);
    return l;
}

void SpatialMix::load(const ParamReader& p, int64_t n, bool with_key_norm, const ops::BiWkvParams& params) {
    dims = n;
    wkv = params;
    spatial_decay = p.take("spatial_decay", {n});
    spatial_first = p.take("spatial_first", {n});
    spatial_mix_k = p.take("spatial_mix_k", {1, 1, n});
    spatial_mix_v = p.take("spatial_mix_v", {1, 1, n});
    spatial_mix_r = p.take("spatial_mix_r", {1, 1, n});
    key = load_linear(p, "key", n, n);
    value = load_linear(p, "value", n, n);
    receptance = load_linear(p, "receptance", n, n);
    output = load_linear(p, "output", n, n);
    if (with_key_norm) {
        key_norm.emplace();
        key_norm->load(p.sub("key_norm"), n);
    }
}

void SpatialMix::forward(const float* x, float* y, int64_t B, int64_t H, int64_t W) const {
    const int64_t T = H * W, rows = B * T, C = dims;
    const auto n = static_cast<size_t>(rows * C);
    std::vector<float> xs(n), mix(n), k(n), v(n), r(n), a(n);
    ops::ref::q_shift(x, xs.data(), B, H, W, C);
    ops::ref::lerp_mix(x, xs.data(), spatial_mix_k.data(), mix.data(), rows, C);
    key.forward(mix.data(), rows, k.data());
    ops::ref::lerp_mix(x, xs.data(), spatial_mix_v.data(), mix.data(), rows, C);
    value.forward(mix.data(), rows, v.data());
    ops::ref::lerp_mix(x, xs.data(), spatial_mix_r.data(), mix.data(), rows, C);
    receptance.forward(mix.data(), rows, r.data());
    ops::ref::bi_wkv(spatial_decay.data(), spatial_first.data(), k.data(), v.data(), a.data(), B, T, C, wkv);
    if (key_norm) key_norm->forward(a.data(), a.data(), rows);
    for (size_t i = 0; i < n; ++i) a[i] *= 1.0f / (1.0f + std::exp(-r[i]));
    output.forward(a.data(), rows, y);
}

}  // namespace rv::backbone
