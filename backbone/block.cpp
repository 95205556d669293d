// VRWKV block forward. Layer: backbone.
#include "backbone/block.h"

#include <algorithm>

#include "backbone/parallel_kernels.h"

namespace rv::backbone {

void Block::load(const ParamReader& p, int layer, const VrwkvConfig& cfg) {
    const int64_t C = cfg.embed_dims;
    layer_id = layer;
    post_norm = cfg.post_norm;
    if (layer == 0) {
        ln0.emplace();
        ln0->load(p.sub("ln0"), C);
    }
    ln1.load(p.sub("ln1"), C);
    ln2.load(p.sub("ln2"), C);
    if (cfg.init_values) {
        gamma1 = p.take("gamma1", {C});
        gamma2 = p.take("gamma2", {C});
    }
    att.load(p.sub("att"), C, cfg.key_norm, cfg.wkv_params());
    ffn.load(p.sub("ffn"), C, cfg.hidden_dims(), cfg.key_norm);
}

void Block::prepare(ops::Precision precision) {
    att.prepare(precision);
    ffn.prepare(precision);
}

void Block::plan(WorkspacePlan& plan, int64_t M) const {
    plan.floats(M * att.dims);  // normed input (pre-norm) or mix output (post-norm)
    WorkspacePlan a, f;         // the two mixes run one after the other in the same space
    att.plan(a, M);
    ffn.plan(f, M);
    plan.bytes(std::max(a.total(), f.total()));
}

size_t Block::matmul_scratch(int64_t T) const {
    const float* g1 = gamma1 ? gamma1->data() : nullptr;
    const float* g2 = gamma2 ? gamma2->data() : nullptr;
    if (post_norm) return std::max(att.matmul_scratch(T), ffn.matmul_scratch(T));
    return std::max(att.matmul_scratch(T, g1, true), ffn.matmul_scratch(T, g2, true));
}

void Block::forward(ForwardContext& ctx, float* x, int64_t B, int64_t H, int64_t W) const {
    const int64_t C = att.dims, M = B * H * W;
    const float* g1 = gamma1 ? gamma1->data() : nullptr;
    const float* g2 = gamma2 ? gamma2->data() : nullptr;
    Workspace::Scope scope(ctx.ws);
    float* t = ctx.ws.take(M * C);
    if (ln0) run_layer_norm(ctx, x, ln0->weight.data(), ln0->bias.data(), ln0->eps, x, M, C);
    if (post_norm) {
        att.forward(ctx, x, t, B, H, W);
        run_layer_norm(ctx, t, ln1.weight.data(), ln1.bias.data(), ln1.eps, x, M, C, nullptr, true, g1);
        ffn.forward(ctx, x, t, B, H, W);
        run_layer_norm(ctx, t, ln2.weight.data(), ln2.bias.data(), ln2.eps, x, M, C, nullptr, true, g2);
    } else {
        run_layer_norm(ctx, x, ln1.weight.data(), ln1.bias.data(), ln1.eps, t, M, C);
        att.forward(ctx, t, x, B, H, W, g1, true);
        run_layer_norm(ctx, x, ln2.weight.data(), ln2.bias.data(), ln2.eps, t, M, C);
        ffn.forward(ctx, t, x, B, H, W, g2, true);
    }
}

void Block::forward(float* x, int64_t B, int64_t H, int64_t W) const {
    ForwardContext ctx;
    WorkspacePlan plan;
    this->plan(plan, B * H * W);
    ctx.prepare_standalone(plan.total(), matmul_scratch(H * W));
    forward(ctx, x, B, H, W);
}

}  // namespace rv::backbone
