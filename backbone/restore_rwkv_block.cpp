// Restore-RWKV blocks (Omni-Shift, Re-WKV, channel mix, pre-norm block). Layer: backbone.
#include "backbone/restore_rwkv_block.h"

#include <algorithm>
#include <cstddef>

#include "backbone/parallel_kernels.h"
#include "vision/core/error.h"
#include "vision/core/threading.h"

namespace rv::backbone {
namespace {
constexpr float kLnEps = 1e-5f;  // nn.LayerNorm default
// Channel-mix rows per chunk: its hidden activations (hidden_rate·C wide) never exist for the
// whole image, which keeps 2048² images in memory.
constexpr int64_t kFfnRows = 8192;

Tensor take_vec(const ParamReader& p, const std::string& name, int64_t C) { return p.take(name, {C}); }

// src [H, W, C] -> dst [W, H, C] for each of B images (token order row-major <-> column-major).
void transpose_hw(const ForwardContext& ctx, const float* src, int64_t B, int64_t H, int64_t W, int64_t C,
                  float* dst) {
    ctx.run(B * H, 16, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t b = i / H, h = i % H;
            const float* s = src + (b * H + h) * W * C;
            float* d = dst + b * H * W * C + h * C;
            for (int64_t w = 0; w < W; ++w) std::copy(s + w * C, s + (w + 1) * C, d + w * H * C);
        }
    });
}
}  // namespace

RestoreRun::RestoreRun(bool serial) { ctx_.serial = serial; }

void RestoreRun::linear(const ops::SplitLinear& lin, const float* x, int64_t rows, float* y,
                        const ops::PostOps& post) {
    const size_t need = Workspace::align_up(matmul_block_scratch(lin, rows, post));
    const int slots = ctx_.serial ? 1 : thread_slots();
    if (need > ctx_.matmul_scratch_bytes || slots > ctx_.matmul_scratch_slots) {
        const size_t per = std::max(need, ctx_.matmul_scratch_bytes);
        scratch_ = Tensor({static_cast<int64_t>((per * static_cast<size_t>(slots)) / sizeof(float) + 16)});
        ctx_.matmul_scratch = scratch_.data();
        ctx_.matmul_scratch_bytes = per;
        ctx_.matmul_scratch_slots = slots;
    }
    run_linear(ctx_, lin, x, 1, rows, y, post);
}

Tensor RestoreRun::take(int64_t n) {
    size_t best = free_.size();
    for (size_t i = 0; i < free_.size(); ++i)
        if (free_[i].numel() >= n && (best == free_.size() || free_[i].numel() < free_[best].numel()))
            best = i;
    if (best == free_.size()) {
        free_.clear();  // all too small for this level: release them before allocating
        return Tensor({n});
    }
    Tensor t = std::move(free_[best]);
    free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
    return t;
}

void RestoreRun::give(Tensor&& t) {
    if (!t.empty()) free_.push_back(std::move(t));
}

void OmniShift::load(const ParamReader& p, int64_t C) {
    const Tensor alpha = p.take("alpha", {4});
    const Tensor w1 = p.take("conv1x1.weight", {C, 1, 1, 1});
    const Tensor w3 = p.take("conv3x3.weight", {C, 1, 3, 3});
    const Tensor w5 = p.take("conv5x5.weight", {C, 1, 5, 5});
    if (p.has("conv5x5_reparam.weight")) p.take("conv5x5_reparam.weight", {C, 1, 5, 5});  // never trusted
    // The official reparam_5x5, in the same float order: ((α0·I + α1·W1) + α2·W3) + α3·W5.
    kernel_ = Tensor({C, 1, 5, 5});
    for (int64_t c = 0; c < C; ++c) {
        for (int64_t i = 0; i < 5; ++i) {
            for (int64_t j = 0; j < 5; ++j) {
                const bool centre = i == 2 && j == 2, inner = i >= 1 && i <= 3 && j >= 1 && j <= 3;
                const float id = centre ? 1.0f : 0.0f;
                const float p1 = centre ? w1[c] : 0.0f;
                const float p3 = inner ? w3[c * 9 + (i - 1) * 3 + (j - 1)] : 0.0f;
                float v = alpha[0] * id + alpha[1] * p1;
                v = v + alpha[2] * p3;
                v = v + alpha[3] * w5[c * 25 + i * 5 + j];
                kernel_[c * 25 + i * 5 + j] = v;
            }
        }
    }
    conv_.set_weights(kernel_, nullptr, ops::Conv2dShape::depthwise(C, 5, 1, 2));
}

void OmniShift::forward(RestoreRun& run, const float* x, int64_t B, int64_t H, int64_t W, float* y) const {
    conv_.forward(x, B, H, W, y, {}, run.ctx().serial);
}

void RestoreBlock::load(const ParamReader& p, int64_t C, double hidden_rate, bool key_norm,
                        const ops::BiWkvParams& wkv) {
    C_ = C;
    hidden_ = static_cast<int64_t>(hidden_rate * static_cast<double>(C));
    RV_CHECK(hidden_ > 0, ErrorCode::kInvalidArgument, p.key("ffn"), ": hidden width is 0");
    wkv_ = wkv;
    key_norm_ = key_norm;
    ln1_w_ = take_vec(p, "ln1.weight", C);
    ln1_b_ = take_vec(p, "ln1.bias", C);
    ln2_w_ = take_vec(p, "ln2.weight", C);
    ln2_b_ = take_vec(p, "ln2.bias", C);
    gamma1_ = take_vec(p, "gamma1", C);
    gamma2_ = take_vec(p, "gamma2", C);
    const ParamReader a = p.sub("att");
    if (a.has("dwconv.weight")) a.take("dwconv.weight", {C, 1, 3, 3});  // defined, never used (official)
    att_shift_.load(a.sub("omni_shift"), C);
    auto lin = [](ops::SplitLinear& l, const ParamReader& r, const std::string& name, int64_t out,
                  int64_t in) {
        const Tensor w = r.take(name + ".weight", {out, in});
        l.set_weights(w, nullptr);
        l.prepare(ops::Precision::kF32);
    };
    lin(att_key_, a, "key", C, C);
    lin(att_value_, a, "value", C, C);
    lin(att_receptance_, a, "receptance", C, C);
    lin(att_output_, a, "output", C, C);
    decay_ = a.take("spatial_decay", {2, C});
    first_ = a.take("spatial_first", {2, C});
    const ParamReader f = p.sub("ffn");
    ffn_shift_.load(f.sub("omni_shift"), C);
    lin(ffn_key_, f, "key", hidden_, C);
    lin(ffn_receptance_, f, "receptance", C, C);
    lin(ffn_value_, f, "value", C, hidden_);
    if (key_norm) {
        att_kn_w_ = take_vec(a, "key_norm.weight", C);
        att_kn_b_ = take_vec(a, "key_norm.bias", C);
        ffn_kn_w_ = take_vec(f, "key_norm.weight", hidden_);
        ffn_kn_b_ = take_vec(f, "key_norm.bias", hidden_);
    }
}

int64_t RestoreBlock::peak_bytes(int64_t B, int64_t H, int64_t W) const {
    const int64_t n = B * H * W * C_ * 4;
    const int64_t rows = std::min(B * H * W, kFfnRows);
    const int64_t att = 4 * n;
    const int64_t ffn = 2 * n + rows * (hidden_ + C_) * 4;
    return std::max(att, ffn);
}

void RestoreBlock::attention(RestoreRun& run, float* x, int64_t B, int64_t H, int64_t W,
                             const std::string& pfx) const {
    ForwardContext& ctx = run.ctx();
    const int64_t T = H * W, rows = B * T, C = C_;
    Tensor a = run.take(rows * C), xs = run.take(rows * C), k = run.take(rows * C), y0 = run.take(rows * C);
    run_layer_norm(ctx, x, ln1_w_.data(), ln1_b_.data(), kLnEps, a.data(), rows, C);
    att_shift_.forward(run, a.data(), B, H, W, xs.data());
    run.linear(att_key_, xs.data(), rows, k.data(), {});
    run.linear(att_value_, xs.data(), rows, a.data(), {});  // v
    // pass 0, raster order: y0 = BiWKV(decay[0], first[0], k, v)
    run_bi_wkv(ctx, decay_.data(), first_.data(), k.data(), a.data(), nullptr, y0.data(), B, T, C, wkv_);
    if (ctx.trace) ctx.trace(pfx + "att.wkv0", y0.data(), {B, T, C});
    // pass 1, column-major order: the same k, pass 0's output as v
    transpose_hw(ctx, k.data(), B, H, W, C, a.data());   // kc
    transpose_hw(ctx, y0.data(), B, H, W, C, k.data());  // vc
    run_bi_wkv(ctx, decay_.data() + C, first_.data() + C, a.data(), k.data(), nullptr, y0.data(), B, T, C,
               wkv_);
    transpose_hw(ctx, y0.data(), B, W, H, C, k.data());  // back to raster
    if (ctx.trace) ctx.trace(pfx + "att.wkv1", k.data(), {B, T, C});
    if (key_norm_)
        run_layer_norm(ctx, k.data(), att_kn_w_.data(), att_kn_b_.data(), kLnEps, k.data(), rows, C);
    ops::PostOps gate;  // σ(Wr·xs) ⊙ wkv
    gate.act = ops::PostOps::Act::kSigmoid;
    gate.mul = k.data();
    run.linear(att_receptance_, xs.data(), rows, a.data(), gate);
    ops::PostOps res;  // x += γ1 ⊙ Wo(·)
    res.scale = gamma1_.data();
    res.accumulate = true;
    run.linear(att_output_, a.data(), rows, x, res);
    run.give(std::move(a));
    run.give(std::move(xs));
    run.give(std::move(k));
    run.give(std::move(y0));
}

void RestoreBlock::channel_mix(RestoreRun& run, float* x, int64_t B, int64_t H, int64_t W) const {
    ForwardContext& ctx = run.ctx();
    const int64_t rows = B * H * W, C = C_;
    Tensor a = run.take(rows * C), xs = run.take(rows * C);
    run_layer_norm(ctx, x, ln2_w_.data(), ln2_b_.data(), kLnEps, a.data(), rows, C);
    ffn_shift_.forward(run, a.data(), B, H, W, xs.data());
    run.give(std::move(a));
    const int64_t chunk = std::min(rows, kFfnRows);
    Tensor h = run.take(chunk * hidden_), r = run.take(chunk * C);
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
        const int64_t n = std::min(chunk, rows - r0);
        ops::PostOps sq;
        sq.act = ops::PostOps::Act::kReluSquare;
        run.linear(ffn_key_, xs.data() + r0 * C, n, h.data(), sq);
        if (key_norm_)
            run_layer_norm(ctx, h.data(), ffn_kn_w_.data(), ffn_kn_b_.data(), kLnEps, h.data(), n, hidden_);
        ops::PostOps sig;
        sig.act = ops::PostOps::Act::kSigmoid;
        run.linear(ffn_receptance_, xs.data() + r0 * C, n, r.data(), sig);
        ops::PostOps res;  // x += γ2 ⊙ (σ(Wr·xs) ⊙ Wv·relu(Wk·xs)²)
        res.mul = r.data();
        res.scale = gamma2_.data();
        res.accumulate = true;
        run.linear(ffn_value_, h.data(), n, x + r0 * C, res);
    }
    run.give(std::move(xs));
    run.give(std::move(h));
    run.give(std::move(r));
}

void RestoreBlock::forward(RestoreRun& run, float* x, int64_t B, int64_t H, int64_t W,
                           const std::string& trace_prefix) const {
    attention(run, x, B, H, W, trace_prefix);
    if (run.ctx().trace) run.ctx().trace(trace_prefix + "after_att", x, {B, H, W, C_});
    channel_mix(run, x, B, H, W);
}

}  // namespace rv::backbone
