// VRWKV spatial mix forward. Layer: backbone.
#include "backbone/spatial_mix.h"

#include <algorithm>

#include "backbone/parallel_kernels.h"

namespace rv::backbone {

static ops::SplitLinear load_linear(const ParamReader& p, const std::string& name, int64_t out, int64_t in) {
    ops::SplitLinear l;
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

void SpatialMix::prepare(ops::Precision precision) {
    for (ops::SplitLinear* l : {&key, &value, &receptance, &output}) l->prepare(precision);
}

void SpatialMix::plan(WorkspacePlan& plan, int64_t M) const {
    for (int i = 0; i < 7; ++i) plan.floats(M * dims);  // xk xv xr k v r a
}

size_t SpatialMix::matmul_scratch(int64_t T, const float* scale, bool accumulate) const {
    ops::PostOps sig, out;
    sig.act = ops::PostOps::Act::kSigmoid;
    out.scale = accumulate ? scale : nullptr;
    out.accumulate = accumulate;
    return std::max({matmul_block_scratch(key, T, {}), matmul_block_scratch(value, T, {}),
                     matmul_block_scratch(receptance, T, sig), matmul_block_scratch(output, T, out)});
}

void SpatialMix::forward(ForwardContext& ctx, const float* x, float* y, int64_t B, int64_t H, int64_t W,
                         const float* scale, bool accumulate) const {
    const int64_t T = H * W, M = B * T, C = dims;
    Workspace::Scope scope(ctx.ws);
    float* xk = ctx.ws.take(M * C);
    float* xv = ctx.ws.take(M * C);
    float* xr = ctx.ws.take(M * C);
    float* k = ctx.ws.take(M * C);
    float* v = ctx.ws.take(M * C);
    float* r = ctx.ws.take(M * C);
    float* a = ctx.ws.take(M * C);
    const float* mu[3] = {spatial_mix_k.data(), spatial_mix_v.data(), spatial_mix_r.data()};
    float* mixed[3] = {xk, xv, xr};
    run_shift_mix(ctx, x, B, H, W, C, 3, mu, mixed);
    run_linear(ctx, key, xk, B, T, k, {});
    run_linear(ctx, value, xv, B, T, v, {});
    ops::PostOps sig;
    sig.act = ops::PostOps::Act::kSigmoid;
    run_linear(ctx, receptance, xr, B, T, r, sig);  // r = σ(R·xr)
    // a = σ(r) ⊙ wkv, or key_norm first: a = σ(r) ⊙ LN(wkv).
    run_bi_wkv(ctx, spatial_decay.data(), spatial_first.data(), k, v, key_norm ? nullptr : r, a, B, T, C,
               wkv);
    if (key_norm)
        run_layer_norm(ctx, a, key_norm->weight.data(), key_norm->bias.data(), key_norm->eps, a, M, C, r);
    ops::PostOps out;
    out.scale = accumulate ? scale : nullptr;
    out.accumulate = accumulate;
    run_linear(ctx, output, a, B, T, y, out);
}

void SpatialMix::forward(const float* x, float* y, int64_t B, int64_t H, int64_t W) const {
    ForwardContext ctx;
    WorkspacePlan plan;
    this->plan(plan, B * H * W);
    ctx.prepare_standalone(plan.total(), matmul_scratch(H * W));
    forward(ctx, x, y, B, H, W);
}

}  // namespace rv::backbone
