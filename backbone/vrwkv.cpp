// VRWKV backbone forward. Layer: backbone.
#include "backbone/vrwkv.h"

#include <algorithm>
#include <cmath>

#include "backbone/parallel_kernels.h"
#include "vision/core/error.h"
#include "vision/core/limits.h"
#include "vision/core/threading.h"
#include "vision/ops/ref/patch_ref.h"
#include "vision/ops/ref/resize_ref.h"

namespace rv::backbone {

std::string find_backbone_prefix(const weights::WeightStore& store) {
    static const std::string suffix = "patch_embed.projection.weight";
    std::string best;
    bool found = false;
    for (const auto& k : store.keys())
        if (k.ends_with(suffix)) {
            const std::string p = k.substr(0, k.size() - suffix.size());
            if (!found || p.size() < best.size()) best = p;
            found = true;
        }
    RV_CHECK(found, ErrorCode::kNotFound, store.path(), ": no key ending in '", suffix,
             "': not a Vision-RWKV checkpoint (see `rwkv-vision info ", store.path(), "`)");
    return best;
}

CheckpointStructure detect_structure(const weights::WeightStore& store, const std::string& prefix) {
    const std::string pe = prefix + "patch_embed.projection.weight";
    RV_CHECK(
        store.contains(pe), ErrorCode::kNotFound, store.path(), ": no key '", pe,
        "': this does not look like a Vision-RWKV checkpoint (run `rwkv-vision info` on it to see its keys)");
    CheckpointStructure s;
    const Shape& w = store.entry(pe).shape;
    RV_CHECK(w.size() == 4 && w[2] == w[3], ErrorCode::kShapeMismatch, store.path(), ": ", pe, " has shape ",
             shape_str(w), ", expected [C, C_in, p, p]");
    s.embed_dims = static_cast<int>(w[0]);
    s.in_channels = static_cast<int>(w[1]);
    s.patch_size = static_cast<int>(w[2]);
    while (store.contains(prefix + "layers." + std::to_string(s.depth) + ".ln1.weight")) ++s.depth;
    const std::string fk = prefix + "layers.0.ffn.key.weight";
    if (store.contains(fk)) s.hidden_dims = static_cast<int>(store.entry(fk).shape.at(0));
    s.key_norm = store.contains(prefix + "layers.0.att.key_norm.weight");
    s.layer_scale = store.contains(prefix + "layers.0.gamma1");
    const std::string pk = prefix + "pos_embed";
    if (store.contains(pk)) {
        const Shape& p = store.entry(pk).shape;
        if (p.size() == 3) {
            const auto side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(p[1]))));
            if (static_cast<int64_t>(side) * side == p[1]) s.pos_h = s.pos_w = side;
        }
    }
    return s;
}

void Vrwkv::load(weights::WeightStore& store, const std::string& prefix, VrwkvConfig& cfg) {
    const CheckpointStructure s = detect_structure(store, prefix);
    // Optional parts the file has and the config does not mention are taken from the file (spec
    // §2.9: VRWKV-B may have key_norm); parts the config requires and the file lacks are an error,
    // so a stripped checkpoint cannot load and silently give wrong answers.
    RV_CHECK(!cfg.key_norm || s.key_norm, ErrorCode::kShapeMismatch, store.path(),
             ": the model has key_norm but key '", prefix, "layers.0.att.key_norm.weight' is missing");
    RV_CHECK(!cfg.init_values || s.layer_scale, ErrorCode::kShapeMismatch, store.path(),
             ": the model has layer scale but key '", prefix, "layers.0.gamma1' is missing");
    RV_CHECK(s.depth == cfg.depth, ErrorCode::kShapeMismatch, store.path(), ": the file has ", s.depth,
             " blocks under '", prefix, "layers.', the model config says depth ", cfg.depth);
    cfg.key_norm = s.key_norm;
    if (s.layer_scale && !cfg.init_values) cfg.init_values = 1.0;
    cfg.validate();
    cfg_ = cfg;
    const int64_t C = cfg.embed_dims, p = cfg.patch_size;
    ParamReader root(store, prefix);

    ParamReader pe = root.sub("patch_embed").sub("projection");
    Tensor w = pe.take("weight", {C, cfg.in_channels, p, p});
    w.reshape({C, cfg.in_channels * p * p});
    Tensor b = pe.take("bias", {C});
    patch_proj_.set_weights(w, &b);

    // The stored grid: from the file when it is square (a loader must not trust the model name),
    // else from img_size.
    int64_t L = -1;
    if (store.contains(root.key("pos_embed"))) {
        const Shape& ps = store.entry(root.key("pos_embed")).shape;
        RV_CHECK(ps.size() == 3 && ps[0] == 1 && ps[2] == C, ErrorCode::kShapeMismatch, store.path(),
                 ": key '", root.key("pos_embed"), "' has shape ", shape_str(ps), ", expected [1, N, ", C,
                 "]");
        L = ps[1];
    }
    if (s.pos_h > 0 && s.pos_h * s.pos_w == L) {
        pos_h_ = s.pos_h;
        pos_w_ = s.pos_w;
    } else {
        pos_h_ = pos_w_ = cfg.pos_grid();
    }
    pos_embed_ = root.take("pos_embed", {1, pos_h_ * pos_w_, C});

    layers_.resize(static_cast<size_t>(cfg.depth));
    for (int i = 0; i < cfg.depth; ++i)
        layers_[static_cast<size_t>(i)].load(root.sub("layers").sub(std::to_string(i)), i, cfg);
    ln1_.load(root.sub("ln1"), C);
}

void Vrwkv::prepare(ops::Precision precision) {
    patch_proj_.prepare(precision);
    for (Block& b : layers_) b.prepare(precision);
}

void Vrwkv::check_input(int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t& Hp, int64_t& Wp) const {
    RV_CHECK(Cin == cfg_.in_channels, ErrorCode::kShapeMismatch, "model expects images [B, ",
             cfg_.in_channels, ", H, W], got ", Cin, " channels");
    RV_CHECK(B > 0 && H > 0 && W > 0, ErrorCode::kShapeMismatch, "empty input [", B, ", ", Cin, ", ", H, ", ",
             W, "]");
    Hp = ops::ref::patch_grid(H, cfg_.patch_size);
    Wp = ops::ref::patch_grid(W, cfg_.patch_size);
}

void Vrwkv::prepare_context(ForwardContext& ctx, int64_t B, int64_t H, int64_t W) const {
    if (ctx.B == B && ctx.H == H && ctx.W == W) return;  // sized for this shape already
    int64_t Hp = 0, Wp = 0;
    check_input(B, cfg_.in_channels, H, W, Hp, Wp);
    RV_CHECK(Hp <= limits().max_tokens / Wp, ErrorCode::kLimit, "input [", B, ", ", cfg_.in_channels, ", ", H,
             ", ", W, "] makes ", Hp, "x", Wp, " patch tokens, more than the limit of ", limits().max_tokens,
             ": use a smaller image or drop --no-resize (or raise --max-tokens / RV_MAX_TOKENS)");
    const int64_t T = Hp * Wp, M = B * T, C = cfg_.embed_dims, p = cfg_.patch_size;
    const int64_t K = cfg_.in_channels * p * p;
    ops::PostOps embed_post;
    embed_post.accumulate = true;  // tokens are pre-filled with the position embedding
    size_t scratch = matmul_block_scratch(patch_proj_, T, embed_post);
    WorkspacePlan blocks;
    for (const Block& b : layers_) {
        scratch = std::max(scratch, b.matmul_scratch(T));
        WorkspacePlan one;
        b.plan(one, M);
        blocks = one.total() > blocks.total() ? one : blocks;
    }
    WorkspacePlan plan;
    // After the tokens: the blocks' buffers, or im2col's columns, or (matmul ceiling runs) an [M, C]
    // output plus an input of max([M, 4C], [T, K]).
    WorkspacePlan ceiling;
    ceiling.floats(M * C).floats(std::max(M * cfg_.hidden_dims(), T * K));
    const int slots = ctx.serial ? 1 : thread_slots();
    plan.bytes(scratch * static_cast<size_t>(slots))
        .floats(M * C)
        .bytes(std::max({blocks.total(), ceiling.total()}));
    // The plan is the pass's whole working memory: a huge image gets a clear error, not an
    // out-of-memory kill.
    RV_CHECK(plan.total() <= static_cast<uint64_t>(limits().max_activation_bytes), ErrorCode::kLimit,
             "input [", B, ", ", cfg_.in_channels, ", ", H, ", ", W, "] needs ", plan.total() >> 20,
             " MiB of working memory, over the limit of ", limits().max_activation_bytes >> 20,
             " MiB: use a smaller image or batch, or drop --no-resize (or raise --max-activation-bytes / "
             "RV_MAX_ACTIVATION_BYTES)");
    ctx.ws.rewind(0);
    ctx.ws.reserve(plan.total());
    ctx.B = B;
    ctx.H = H;
    ctx.W = W;
    ctx.matmul_scratch = nullptr;
    if (ctx.pos_h != Hp || ctx.pos_w != Wp) {
        ctx.pos = Tensor({T, C});
        if (Hp == pos_h_ && Wp == pos_w_)
            std::copy(pos_embed_.data(), pos_embed_.data() + T * C, ctx.pos.data());
        else
            ops::ref::bicubic_resize(pos_embed_.data(), ctx.pos.data(), pos_h_, pos_w_, Hp, Wp, C);
        ctx.pos_h = Hp;
        ctx.pos_w = Wp;
    }
    ctx.matmul_scratch_bytes = Workspace::align_up(scratch);
    ctx.matmul_scratch_slots = slots;
}

float* Vrwkv::forward(ForwardContext& ctx, const float* images, int64_t B, int64_t H, int64_t W) const {
    RV_ASSERT(ctx.B == B && ctx.H == H && ctx.W == W);
    const int64_t Cin = cfg_.in_channels, p = cfg_.patch_size, C = cfg_.embed_dims;
    const int64_t Hp = ctx.pos_h, Wp = ctx.pos_w, T = Hp * Wp, K = Cin * p * p;
    ctx.ws.rewind(0);
    ctx.matmul_scratch =
        ctx.ws.take_bytes(ctx.matmul_scratch_bytes * static_cast<size_t>(ctx.matmul_scratch_slots));
    float* tokens = ctx.ws.take(B * T * C);
    {
        Workspace::Scope scope(ctx.ws);
        float* cols = ctx.ws.take(T * K);
        ops::PostOps embed_post;
        embed_post.accumulate = true;
        for (int64_t b = 0; b < B; ++b) {
            float* t = tokens + b * T * C;
            {
                OpTimer timer(ctx.profile, OpClass::kOther);
                ops::ref::im2col_patches(images + b * Cin * H * W, cols, Cin, H, W, p);
                std::copy(ctx.pos.data(), ctx.pos.data() + T * C, t);
            }
            run_linear(ctx, patch_proj_, cols, 1, T, t, embed_post);  // t = pos + (conv(x) + bias)
        }
    }
    const Shape shape = {B, T, C};
    if (ctx.trace) ctx.trace("embed", tokens, shape);
    for (size_t i = 0; i < layers_.size(); ++i) {
        layers_[i].forward(ctx, tokens, B, Hp, Wp);
        if (ctx.trace) ctx.trace("block." + std::to_string(i), tokens, shape);
    }
    run_layer_norm(ctx, tokens, ln1_.weight.data(), ln1_.bias.data(), ln1_.eps, tokens, B * T, C);
    return tokens;
}

void Vrwkv::run_matmuls_only(ForwardContext& ctx, int64_t B, int64_t H, int64_t W) const {
    RV_ASSERT(ctx.B == B && ctx.H == H && ctx.W == W);
    const int64_t T = ctx.pos_h * ctx.pos_w, M = B * T, C = cfg_.embed_dims, Hd = cfg_.hidden_dims();
    const int64_t K = cfg_.in_channels * cfg_.patch_size * cfg_.patch_size;
    ctx.ws.rewind(0);
    ctx.matmul_scratch =
        ctx.ws.take_bytes(ctx.matmul_scratch_bytes * static_cast<size_t>(ctx.matmul_scratch_slots));
    float* tokens = ctx.ws.take(M * C);
    Workspace::Scope scope(ctx.ws);
    // Sized by prepare_context: an [M, C] output and an input of max([M, 4C], [T, K]).
    float* a = ctx.ws.take(M * C);
    float* h = ctx.ws.take(std::max(M * Hd, T * K));
    // Defined inputs (the arena is uninitialised memory; stray denormals would slow the matmuls).
    std::fill(h, h + std::max(M * Hd, T * K), 0.5f);
    for (int64_t b = 0; b < B; ++b) run_linear(ctx, patch_proj_, h, 1, T, tokens + b * T * C, {});
    for (const Block& blk : layers_) {
        for (const ops::SplitLinear* l : {&blk.att.key, &blk.att.value, &blk.att.receptance, &blk.att.output})
            run_linear(ctx, *l, tokens, B, T, a, {});
        run_linear(ctx, blk.ffn.key, tokens, B, T, h, {});
        run_linear(ctx, blk.ffn.receptance, tokens, B, T, a, {});
        run_linear(ctx, blk.ffn.value, h, B, T, a, {});
    }
}

Tensor Vrwkv::forward(const Tensor& images, int64_t& Hp, int64_t& Wp, const TraceFn& trace) const {
    RV_CHECK(images.ndim() == 4, ErrorCode::kShapeMismatch, "model expects images [B, ", cfg_.in_channels,
             ", H, W], got ", shape_str(images.shape()));
    const int64_t B = images.dim(0), H = images.dim(2), W = images.dim(3);
    check_input(B, images.dim(1), H, W, Hp, Wp);
    ForwardContext ctx;
    ctx.trace = trace;
    prepare_context(ctx, B, H, W);
    const float* tokens = forward(ctx, images.data(), B, H, W);
    Tensor out({B, Hp * Wp, cfg_.embed_dims});
    std::copy(tokens, tokens + out.numel(), out.data());
    return out;
}

}  // namespace rv::backbone
