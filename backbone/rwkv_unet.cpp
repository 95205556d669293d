// RWKV-UNet forward on NHWC maps. Layer: backbone.
#include "backbone/rwkv_unet.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "backbone/parallel_kernels.h"
#include "vision/core/error.h"
#include "vision/core/threading.h"
#include "vision/ops/dense_ops.h"

namespace rv::backbone {

namespace {

constexpr float kNormEps = 1e-6f;  // get_norm() in module/basic_modules.py: BatchNorm2d and LayerNorm2d

// Marks every key under `prefix` as used (modules the U-Net builds but never runs).
void mark_prefix_used(weights::WeightStore& store, const std::string& prefix) {
    for (const std::string& k : store.keys())
        if (k.compare(0, prefix.size(), prefix) == 0) store.mark_used(k);
}

void mark_if_present(weights::WeightStore& store, const std::string& key) {
    if (store.contains(key)) store.mark_used(key);
}

ops::Activation act_from_name(const std::string& name) { return ops::parse_activation(name.c_str()); }

}  // namespace

FeatureMap FeatureMap::make(int64_t B, int64_t H, int64_t W, int64_t C) {
    FeatureMap f;
    f.data = Tensor({B, H, W, C});
    f.B = B;
    f.H = H;
    f.W = W;
    f.C = C;
    return f;
}

// --------------------------------------------------------------------------- ConvBnAct

void ConvBnAct::load(const ParamReader& p, int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups,
                     bool norm_bn, ops::Activation activation, const Tensor& in_scale,
                     const Tensor& in_shift) {
    // ConvNormAct: padding = ceil((k - stride) / 2), no conv bias.
    const int64_t pad = std::max<int64_t>(0, (k - stride + 1) / 2);
    const ops::Conv2dShape shape = ops::Conv2dShape::square(in, out, k, stride, pad, groups);
    Tensor weight = p.sub("conv").take("weight", {out, in / groups, k, k});
    Tensor bias({out});
    if (!in_scale.empty()) ops::fold_affine_before_conv(weight, bias, shape, in_scale, in_shift);
    if (norm_bn) {
        const ParamReader n = p.sub("norm");
        ops::fold_batch_norm(weight, bias, n.take("weight", {out}), n.take("bias", {out}),
                             n.take("running_mean", {out}), n.take("running_var", {out}), kNormEps);
    }
    conv.set_weights(weight, &bias, shape);
    act = activation;
}

void ConvBnAct::load_plain(const ParamReader& p, int64_t in, int64_t out) {
    Tensor weight = p.take("weight", {out, in, 1, 1});
    Tensor bias = p.take("bias", {out});
    conv.set_weights(weight, &bias, ops::Conv2dShape::square(in, out, 1, 1, 0));
    act = ops::Activation::kNone;
}

FeatureMap ConvBnAct::forward(const FeatureMap& x, const float* residual) const {
    FeatureMap y = FeatureMap::make(x.B, conv.out_h(x.H), conv.out_w(x.W), conv.shape().out);
    ops::Conv2dPost post;
    post.act = act;
    post.residual = residual;
    conv.forward(x.ptr(), x.B, x.H, x.W, y.ptr(), post);
    return y;
}

// --------------------------------------------------------------------------- SE

void SqueezeExcite::load(const ParamReader& p, int64_t channels, int64_t reduced,
                         ops::Activation activation) {
    C = channels;
    rd = reduced;
    act = activation;
    reduce_w = p.sub("conv_reduce").take("weight", {rd, C, 1, 1});
    reduce_b = p.sub("conv_reduce").take("bias", {rd});
    expand_w = p.sub("conv_expand").take("weight", {C, rd, 1, 1});
    expand_b = p.sub("conv_expand").take("bias", {C});
}

void SqueezeExcite::forward(FeatureMap& x) const {
    const int64_t B = x.B, HW = x.H * x.W;
    std::vector<float> pooled(static_cast<size_t>(B * C)), gate(static_cast<size_t>(B * C));
    std::vector<float> mid(static_cast<size_t>(rd));
    ops::global_avg_pool(x.ptr(), B, HW, C, pooled.data());
    for (int64_t b = 0; b < B; ++b) {
        const float* s = pooled.data() + b * C;
        for (int64_t r = 0; r < rd; ++r) {
            float acc = reduce_b.data()[r];
            for (int64_t c = 0; c < C; ++c) acc += reduce_w.data()[r * C + c] * s[c];
            mid[static_cast<size_t>(r)] = ops::activate(act, acc);
        }
        for (int64_t c = 0; c < C; ++c) {
            float acc = expand_b.data()[c];
            for (int64_t r = 0; r < rd; ++r) acc += expand_w.data()[c * rd + r] * mid[static_cast<size_t>(r)];
            gate[static_cast<size_t>(b * C + c)] = ops::activate(ops::Activation::kSigmoid, acc);
        }
    }
    ops::scale_channels(x.ptr(), gate.data(), B, HW, C, x.ptr());
}

// --------------------------------------------------------------------------- GLSP

void Glsp::load(const ParamReader& p, weights::WeightStore& store, int64_t in, int64_t out, bool norm_in,
                const std::string& norm_layer, bool skip, double exp_ratio, int64_t dw_ks, int64_t s,
                double se_ratio, ops::Activation se_act, bool attention, const ops::BiWkvParams& wkv) {
    dim_in = in;
    dim_out = out;
    dim_mid = static_cast<int64_t>(static_cast<double>(in) * exp_ratio);  // Python int(): truncation
    stride = s;
    has_skip = skip && in == out && s == 1;
    attn = attention;
    Tensor in_scale, in_shift;
    if (norm_in && norm_layer == "bn_2d") {
        const ParamReader n = p.sub("norm");
        ops::batch_norm_scale_shift(n.take("weight", {in}), n.take("bias", {in}),
                                    n.take("running_mean", {in}), n.take("running_var", {in}), kNormEps,
                                    in_scale, in_shift);
        mark_if_present(store, n.key("num_batches_tracked"));
    } else if (norm_in && norm_layer == "ln_2d") {
        norm_ln.emplace();
        norm_ln->load(p.sub("norm").sub("norm"), in);
        norm_ln->eps = kNormEps;
    }
    conv.load(p.sub("conv"), in, dim_mid, 1, 1, 1, true, ops::Activation::kRelu, in_scale, in_shift);
    if (attn) {
        att.load(p.sub("att"), dim_mid, true, wkv);  // key_norm always on in RWKV-UNet
        att.prepare(ops::Precision::kF32);
        ln1.load(p.sub("ln1"), dim_mid);
    } else {
        mark_prefix_used(store, p.key("att."));
        mark_prefix_used(store, p.key("ln1."));
    }
    mark_prefix_used(store, p.key("ln2."));
    if (se_ratio > 0.0) {
        se.emplace();
        se->load(p.sub("se"), dim_mid,
                 static_cast<int64_t>(std::nearbyint(static_cast<double>(dim_mid) * se_ratio)), se_act);
    }
    conv_local.load(p.sub("conv_local"), dim_mid, dim_mid, dw_ks, stride, dim_mid, true,
                    ops::Activation::kSilu);
    proj.load(p.sub("proj"), dim_mid, out, 1, 1, 1, false, ops::Activation::kNone);
    for (const char* m : {"conv.norm.", "conv_local.norm."})
        mark_if_present(store, p.key(std::string(m) + "num_batches_tracked"));
}

FeatureMap Glsp::forward(ForwardContext& ctx, const FeatureMap& x) const {
    const FeatureMap* in = &x;
    FeatureMap normed;
    if (norm_ln) {
        normed = FeatureMap::make(x.B, x.H, x.W, x.C);
        run_layer_norm(ctx, x.ptr(), norm_ln->weight.data(), norm_ln->bias.data(), norm_ln->eps, normed.ptr(),
                       x.rows(), x.C);
        in = &normed;
    }
    FeatureMap m = conv.forward(*in);
    if (attn) {
        // Post-norm residual on the token grid: m += ln1(att(m)).
        FeatureMap a = FeatureMap::make(m.B, m.H, m.W, m.C);
        att.forward(ctx, m.ptr(), a.ptr(), m.B, m.H, m.W);
        run_layer_norm(ctx, a.ptr(), ln1.weight.data(), ln1.bias.data(), ln1.eps, m.ptr(), m.rows(), m.C,
                       nullptr, true);
    }
    FeatureMap d;
    if (se) {
        d = conv_local.forward(m);
        se->forward(d);
        if (has_skip) ops::add(d.ptr(), m.ptr(), d.rows() * d.C, d.ptr());
    } else {
        d = conv_local.forward(m, has_skip ? m.ptr() : nullptr);
    }
    return proj.forward(d, has_skip ? x.ptr() : nullptr);
}

// --------------------------------------------------------------------------- decoder parts

void UpBlock::load(const ParamReader& p, weights::WeightStore& store, int64_t dim_in, int64_t dim_out,
                   int64_t dw_ks) {
    conv.load(p.sub("conv"), dim_in, dim_in, 1, 1, 1, true, ops::Activation::kRelu);
    conv_local.load(p.sub("conv_local"), dim_in, dim_in, dw_ks, 1, dim_in, true, ops::Activation::kSilu);
    proj.load(p.sub("proj"), dim_in, dim_out, 1, 1, 1, true, ops::Activation::kRelu);
    mark_prefix_used(store, p.key("ln1."));
    for (const char* m : {"conv", "conv_local", "proj"})
        mark_if_present(store, p.key(std::string(m) + ".norm.num_batches_tracked"));
}

FeatureMap UpBlock::forward(const FeatureMap& x) const {
    FeatureMap y = proj.forward(conv_local.forward(conv.forward(x)));
    FeatureMap up = FeatureMap::make(y.B, 2 * y.H, 2 * y.W, y.C);
    // nn.Upsample(scale_factor=2, mode='bilinear'): align_corners False, the factor passed on.
    ops::bilinear_resize(y.ptr(), y.B, y.H, y.W, y.C, up.H, up.W, false, up.ptr(), 2.0, 2.0);
    return up;
}

void CcMix::load(const ParamReader& p, const std::vector<int64_t>& in_dims, int64_t target) {
    target_dim = target;
    projections.resize(in_dims.size());
    final_projections.resize(in_dims.size());
    for (size_t i = 0; i < in_dims.size(); ++i) {
        projections[i].load_plain(p.sub("projections").sub(std::to_string(i)), in_dims[i], target);
        final_projections[i].load_plain(p.sub("final_projections").sub(std::to_string(i)), target,
                                        in_dims[i]);
    }
    const int64_t n = target * static_cast<int64_t>(in_dims.size());
    ln1.load(p.sub("ln1"), n);
    channel.load(p.sub("channel"), n, 2 * n, true);
    channel.prepare(ops::Precision::kF32);
}

std::vector<FeatureMap> CcMix::forward(ForwardContext& ctx,
                                       const std::vector<const FeatureMap*>& features) const {
    const FeatureMap& last = *features.back();
    const int64_t B = last.B, H = last.H, W = last.W, n = static_cast<int64_t>(features.size());
    const int64_t Ct = target_dim * n, rows = B * H * W;
    FeatureMap cat = FeatureMap::make(B, H, W, Ct);
    for (int64_t i = 0; i < n; ++i) {
        const FeatureMap& f = *features[static_cast<size_t>(i)];
        FeatureMap r = FeatureMap::make(B, H, W, f.C);
        ops::bilinear_resize(f.ptr(), B, f.H, f.W, f.C, H, W, false, r.ptr());
        FeatureMap pr = projections[static_cast<size_t>(i)].forward(r);
        ops::copy_channels(pr.ptr(), target_dim, 0, cat.ptr(), Ct, i * target_dim, target_dim, rows);
    }
    FeatureMap mixed = FeatureMap::make(B, H, W, Ct);
    channel.forward(ctx, cat.ptr(), mixed.ptr(), B, H, W);
    run_layer_norm(ctx, mixed.ptr(), ln1.weight.data(), ln1.bias.data(), ln1.eps, cat.ptr(), rows, Ct,
                   nullptr, true);
    std::vector<FeatureMap> out;
    for (int64_t i = 0; i < n; ++i) {
        const FeatureMap& f = *features[static_cast<size_t>(i)];
        FeatureMap part = FeatureMap::make(B, H, W, target_dim);
        ops::copy_channels(cat.ptr(), Ct, i * target_dim, part.ptr(), target_dim, 0, target_dim, rows);
        FeatureMap y = final_projections[static_cast<size_t>(i)].forward(part);
        FeatureMap back = FeatureMap::make(B, f.H, f.W, f.C);
        ops::bilinear_resize(y.ptr(), B, H, W, f.C, f.H, f.W, false, back.ptr());
        out.push_back(std::move(back));
    }
    return out;
}

// --------------------------------------------------------------------------- the U-Net

void RwkvUnet::load(const ParamReader& p, weights::WeightStore& store, const RwkvUnetConfig& cfg) {
    cfg.validate();
    cfg_ = cfg;
    const auto& d = cfg.embed_dims;
    const ops::BiWkvParams wkv = cfg.wkv_params();
    const ParamReader enc = p.sub("encoder");
    stages_.clear();
    stages_.resize(5);
    stages_[0].resize(1);
    stages_[0][0].load(enc.sub("stage0").sub("0"), store, 3, cfg.stem_dim, false, cfg.norm_layers[0], false,
                       1.0, cfg.dw_kss[0], 1, 1.0, act_from_name(cfg.act_layers[0]), false, wkv);
    int64_t prev = cfg.stem_dim;
    for (size_t i = 0; i < 4; ++i) {
        const ParamReader st = enc.sub("stage" + std::to_string(i + 1));
        stages_[i + 1].resize(static_cast<size_t>(cfg.depths[i]));
        for (int j = 0; j < cfg.depths[i]; ++j) {
            const bool first = j == 0;
            stages_[i + 1][static_cast<size_t>(j)].load(
                st.sub(std::to_string(j)), store, prev, d[i], true, cfg.norm_layers[i], !first,
                first ? cfg.exp_ratios[i] * 2 : cfg.exp_ratios[i], cfg.dw_kss[i], first ? 2 : 1, 0.0,
                act_from_name(cfg.act_layers[i]), !first && cfg.attn_ss[i], wkv);
            prev = d[i];
        }
    }
    mark_prefix_used(store, enc.key("norm."));
    mark_prefix_used(store, enc.key("head."));
    ccm_.load(p.sub("ccm"), {d[2], d[1], d[0]}, d[0]);
    const int64_t k = cfg.decoder_dw_ks;
    decoder_[0].load(p.sub("decoder1"), store, d[3], d[2], k);
    decoder_[1].load(p.sub("decoder2"), store, 2 * d[2], d[1], k);
    decoder_[2].load(p.sub("decoder3"), store, 2 * d[1], d[0], k);
    decoder_[3].load(p.sub("decoder4"), store, 2 * d[0], cfg.decoder_out_dim, k);
    final_conv_.load_plain(p.sub("final_conv"), cfg.decoder_out_dim, cfg.num_classes);
    // Parameters the forward reads: every key under the prefix except the ignored ones.
    parameters_ = 0;
    const std::string root = p.key("");
    for (const std::string& key : store.keys()) {
        if (key.compare(0, root.size(), root) != 0) continue;
        const std::string rel = key.substr(root.size());
        const bool ignored = rel.find("num_batches_tracked") != std::string::npos ||
                             rel.rfind("encoder.norm.", 0) == 0 || rel.rfind("encoder.head.", 0) == 0 ||
                             rel.find(".ln2.") != std::string::npos ||
                             (rel.rfind("decoder", 0) == 0 && rel.find(".ln1.") != std::string::npos);
        if (!ignored) parameters_ += shape_numel(store.entry(key).shape);
    }
}

void RwkvUnet::prepare_context(ForwardContext& ctx, int64_t B, int64_t H, int64_t W) const {
    size_t scratch = 0;
    WorkspacePlan biggest;
    for (size_t s = 1; s < stages_.size(); ++s) {
        const int64_t Hs = H >> s, Ws = W >> s;
        for (const Glsp& g : stages_[s]) {
            if (!g.attn) continue;
            scratch = std::max(scratch, g.att.matmul_scratch(Hs * Ws));
            WorkspacePlan one;
            g.att.plan(one, B * Hs * Ws);
            if (one.total() > biggest.total()) biggest = one;
        }
    }
    const int64_t H1 = H / 2, W1 = W / 2;
    scratch = std::max(scratch, ccm_.channel.matmul_scratch(H1 * W1));
    WorkspacePlan one;
    ccm_.channel.plan(one, B * H1 * W1);
    if (one.total() > biggest.total()) biggest = one;
    ctx.serial = false;
    const int slots = thread_slots();
    ctx.matmul_scratch_bytes = Workspace::align_up(scratch);
    ctx.matmul_scratch_slots = slots;
    ctx.ws.reserve(ctx.matmul_scratch_bytes * static_cast<size_t>(slots) + biggest.total());
    ctx.matmul_scratch = ctx.ws.take_bytes(ctx.matmul_scratch_bytes * static_cast<size_t>(slots));
    ctx.B = B;
    ctx.H = H;
    ctx.W = W;
}

std::vector<FeatureMap> RwkvUnet::encode(ForwardContext& ctx, const float* images, int64_t B, int64_t H,
                                         int64_t W) const {
    FeatureMap x = FeatureMap::make(B, H, W, 3);
    const int64_t Cin = cfg_.in_channels(), HW = H * W;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < HW; ++i)
            for (int64_t c = 0; c < 3; ++c)
                x.ptr()[(b * HW + i) * 3 + c] = images[(b * Cin + (Cin == 1 ? 0 : c)) * HW + i];
    std::vector<FeatureMap> feats;
    feats.reserve(stages_.size());  // `prev` points into it
    const FeatureMap* prev = &x;
    for (const auto& stage : stages_) {
        FeatureMap cur = stage[0].forward(ctx, *prev);
        for (size_t j = 1; j < stage.size(); ++j) cur = stage[j].forward(ctx, cur);
        feats.push_back(std::move(cur));
        prev = &feats.back();
    }
    return feats;
}

FeatureMap RwkvUnet::decode(ForwardContext& ctx, const std::vector<FeatureMap>& f) const {
    std::vector<FeatureMap> skips = ccm_.forward(ctx, {&f[3], &f[2], &f[1]});  // enc3, enc2, enc1 refined
    auto cat = [](const FeatureMap& a, const FeatureMap& b) {
        FeatureMap y = FeatureMap::make(a.B, a.H, a.W, a.C + b.C);
        ops::concat_channels(a.ptr(), a.C, b.ptr(), b.C, a.rows(), y.ptr());
        return y;
    };
    FeatureMap dec = decoder_[0].forward(f[4]);
    if (ctx.trace) ctx.trace("dec3", dec.ptr(), {dec.B, dec.H, dec.W, dec.C});
    for (int i = 0; i < 3; ++i) {
        const FeatureMap& skip = skips[static_cast<size_t>(i)];
        if (ctx.trace) ctx.trace("ccm" + std::to_string(3 - i), skip.ptr(), {skip.B, skip.H, skip.W, skip.C});
        dec = decoder_[i + 1].forward(cat(dec, skip));
        if (ctx.trace) ctx.trace("dec" + std::to_string(2 - i), dec.ptr(), {dec.B, dec.H, dec.W, dec.C});
    }
    return final_conv_.forward(dec);
}

void RwkvUnet::forward(const float* images, int64_t B, int64_t H, int64_t W, float* logits,
                       const TraceFn& trace) const {
    RV_CHECK(B >= 1 && H >= 16 && W >= 16 && H % 16 == 0 && W % 16 == 0, ErrorCode::kShapeMismatch,
             "RWKV-UNet needs images [B >= 1, ", cfg_.in_channels(),
             ", H, W] with H and W positive multiples of 16, got [", B, ", ", cfg_.in_channels(), ", ", H,
             ", ", W, "]");
    ForwardContext ctx;
    ctx.trace = trace;
    prepare_context(ctx, B, H, W);
    std::vector<FeatureMap> feats = encode(ctx, images, B, H, W);
    if (trace)
        for (size_t s = 0; s < feats.size(); ++s)
            trace("enc" + std::to_string(s), feats[s].ptr(),
                  {feats[s].B, feats[s].H, feats[s].W, feats[s].C});
    FeatureMap y = decode(ctx, feats);
    const int64_t K = y.C, HW = H * W;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < HW; ++i)
            for (int64_t k = 0; k < K; ++k) logits[(b * K + k) * HW + i] = y.ptr()[(b * HW + i) * K + k];
}

}  // namespace rv::backbone
