// VRWKV channel mix forward. Layer: backbone.
#include "backbone/channel_mix.h"

#include <algorithm>

#include "backbone/parallel_kernels.h"

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

void ChannelMix::prepare(ops::Precision precision) {
    for (ops::SplitLinear* l : {&key, &receptance, &value}) l->prepare(precision);
}

void ChannelMix::plan(WorkspacePlan& plan, int64_t M) const {
    plan.floats(M * dims).floats(M * dims).floats(M * dims);  // xk xr r
    plan.floats(M * hidden);                                  // h
}

size_t ChannelMix::matmul_scratch(int64_t T, const float* scale, bool accumulate) const {
    static const float kPresent = 0.0f;  // only whether the gating post-op exists matters for sizing
    ops::PostOps relu2, sig, out;
    relu2.act = ops::PostOps::Act::kReluSquare;
    sig.act = ops::PostOps::Act::kSigmoid;
    out.mul = &kPresent;
    out.scale = accumulate ? scale : nullptr;
    out.accumulate = accumulate;
    return std::max({matmul_block_scratch(key, T, relu2), matmul_block_scratch(receptance, T, sig),
                     matmul_block_scratch(value, T, out)});
}

void ChannelMix::forward(ForwardContext& ctx, const float* x, float* y, int64_t B, int64_t H, int64_t W,
                         const float* scale, bool accumulate) const {
    const int64_t M = B * H * W, C = dims;
    Workspace::Scope scope(ctx.ws);
    float* xk = ctx.ws.take(M * C);
    float* xr = ctx.ws.take(M * C);
    float* r = ctx.ws.take(M * C);
    float* h = ctx.ws.take(M * hidden);
    const float* mu[2] = {spatial_mix_k.data(), spatial_mix_r.data()};
    float* mixed[2] = {xk, xr};
    run_shift_mix(ctx, x, B, H, W, C, 2, mu, mixed);
    ops::PostOps relu2;
    relu2.act = ops::PostOps::Act::kReluSquare;
    run_linear(ctx, key, xk, B, H * W, h, relu2);  // h = relu(K·xk)²
    if (key_norm)
        run_layer_norm(ctx, h, key_norm->weight.data(), key_norm->bias.data(), key_norm->eps, h, M, hidden);
    ops::PostOps sig;
    sig.act = ops::PostOps::Act::kSigmoid;
    run_linear(ctx, receptance, xr, B, H * W, r, sig);  // r = σ(R·xr)
    ops::PostOps out;
    out.mul = r;
    out.scale = accumulate ? scale : nullptr;
    out.accumulate = accumulate;
    run_linear(ctx, value, h, B, H * W, y, out);  // y (+)= [γ ⊙] σ(r) ⊙ V·h
}

void ChannelMix::forward(const float* x, float* y, int64_t B, int64_t H, int64_t W) const {
    ForwardContext ctx;
    WorkspacePlan plan;
    this->plan(plan, B * H * W);
    ctx.prepare_standalone(plan.total(), matmul_scratch(H * W));
    forward(ctx, x, y, B, H, W);
}

}  // namespace rv::backbone
