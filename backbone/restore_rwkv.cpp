// Restore-RWKV U-Net. Layer: backbone.
#include "backbone/restore_rwkv.h"

#include <algorithm>

#include "vision/core/error.h"
#include "vision/ops/dense_ops.h"

namespace rv::backbone {
namespace {
void load_conv(ops::Conv2d& conv, const ParamReader& p, const std::string& name, int64_t in, int64_t out,
               int64_t k, bool bias) {
    const Tensor w = p.take(name + ".weight", {out, in, k, k});
    if (bias) {
        const Tensor b = p.take(name + ".bias", {out});
        conv.set_weights(w, &b, ops::Conv2dShape::square(in, out, k));
    } else {
        conv.set_weights(w, nullptr, ops::Conv2dShape::square(in, out, k));
    }
}
}  // namespace

RestoreRwkv RestoreRwkv::load(weights::WeightStore& store, const RestoreRwkvConfig& cfg) {
    cfg.validate();
    RestoreRwkv m;
    m.cfg_ = cfg;
    const ParamReader root(store, "");
    const int64_t d = cfg.dim, in = cfg.inp_channels;
    load_conv(m.patch_embed_, root, "patch_embed", in, d, 3, true);
    auto level = [&](Level& lv, const std::string& name, int n, int64_t C) {
        lv.resize(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i)
            lv[static_cast<size_t>(i)].load(root.sub(name).sub(std::to_string(i)), C, cfg.hidden_rate,
                                            cfg.key_norm, cfg.wkv_params());
    };
    const auto& nb = cfg.num_blocks;
    level(m.enc1_, "encoder_level1", nb[0], d);
    level(m.enc2_, "encoder_level2", nb[1], 2 * d);
    level(m.enc3_, "encoder_level3", nb[2], 4 * d);
    level(m.latent_, "latent", nb[3], 8 * d);
    level(m.dec3_, "decoder_level3", nb[2], 4 * d);
    level(m.dec2_, "decoder_level2", nb[1], 2 * d);
    level(m.dec1_, "decoder_level1", nb[0], 2 * d);
    level(m.refine_, "refinement", cfg.num_refinement_blocks, 2 * d);
    const char* downs[3] = {"down1_2", "down2_3", "down3_4"};
    const char* ups[3] = {"up4_3", "up3_2", "up2_1"};
    for (int i = 0; i < 3; ++i) {
        const int64_t n = d << i;  // down i: n = d·2^i -> n/2
        load_conv(m.down_[static_cast<size_t>(i)], root.sub(downs[i]).sub("body"), "0", n, n / 2, 3, false);
        const int64_t u = d << (3 - i);  // up i: u = 8d, 4d, 2d -> 2u
        load_conv(m.up_[static_cast<size_t>(i)], root.sub(ups[i]).sub("body"), "0", u, 2 * u, 3, false);
    }
    load_conv(m.reduce3_, root, "reduce_chan_level3", 8 * d, 4 * d, 1, true);
    load_conv(m.reduce2_, root, "reduce_chan_level2", 4 * d, 2 * d, 1, true);
    load_conv(m.output_, root, "output", 2 * d, in, 3, true);
    store.check_all_used();
    return m;
}

void RestoreRwkv::run_level(RestoreRun& run, const Level& level, const std::string& name, float* x, int64_t B,
                            int64_t H, int64_t W) const {
    const auto& tr = run.ctx().trace;
    for (size_t i = 0; i < level.size(); ++i) {
        const std::string pfx = name + "." + std::to_string(i);
        level[i].forward(run, x, B, H, W, pfx + ".");
        if (tr) tr(pfx, x, {B, H, W, level[i].channels()});
    }
}

int64_t RestoreRwkv::peak_bytes(int64_t B, int64_t H, int64_t W) const {
    const int64_t d = cfg_.dim, T1 = B * H * W, f = 4;
    auto blocks = [&](const Level& lv, int64_t h, int64_t w) {
        int64_t p = 0;
        for (const auto& b : lv) p = std::max(p, b.peak_bytes(B, h, w));
        return p;
    };
    // live skips + stream + the widest temporary of each stage
    const int64_t e1 = T1 * d * f, e2 = T1 / 4 * 2 * d * f, e3 = T1 / 16 * 4 * d * f,
                  l4 = T1 / 64 * 8 * d * f;
    int64_t peak = e1 + std::max(blocks(enc1_, H, W), T1 * d / 2 * f + e2);
    peak = std::max(peak, e1 + e2 + std::max(blocks(enc2_, H / 2, W / 2), T1 / 4 * d * f + e3));
    peak = std::max(peak, e1 + e2 + e3 + std::max(blocks(enc3_, H / 4, W / 4), T1 / 16 * 2 * d * f + l4));
    peak = std::max(peak, e1 + e2 + e3 + l4 + blocks(latent_, H / 8, W / 8) + 2 * e3 + 2 * e3);
    peak = std::max(peak, e1 + e2 + e3 + blocks(dec3_, H / 4, W / 4) + 2 * e2 + 2 * e2);
    peak = std::max(peak, e1 + e2 + blocks(dec2_, H / 2, W / 2) + 2 * e1 + 2 * e1);
    peak = std::max(peak, 2 * e1 + std::max(blocks(dec1_, H, W), blocks(refine_, H, W)));
    return peak;
}

void RestoreRwkv::forward(const float* x, int64_t B, int64_t H, int64_t W, float* y, bool serial,
                          const TraceFn& trace) const {
    RV_CHECK(B > 0 && H > 0 && W > 0 && H % 8 == 0 && W % 8 == 0, ErrorCode::kInvalidArgument,
             "Restore-RWKV needs H and W multiples of 8 (got ", H, "x", W, "); heads/restorer pads them");
    RV_ASSERT(x != y);
    RestoreRun run(serial);
    run.ctx().trace = trace;
    const bool ser = serial;
    const int64_t d = cfg_.dim;
    auto down = [&](int i, const Tensor& src, int64_t n, int64_t h, int64_t w) {
        Tensor tmp({B * h * w * (n / 2)});
        down_[static_cast<size_t>(i)].forward(src.data(), B, h, w, tmp.data(), {}, ser);
        Tensor out({B * (h / 2) * (w / 2) * 2 * n});
        ops::pixel_unshuffle(tmp.data(), B, h, w, n / 2, 2, out.data());
        return out;
    };
    // up i of a map with u channels at h×w, concatenated with `skip` (s channels at 2h×2w)
    auto up_cat = [&](int i, const Tensor& src, int64_t u, int64_t h, int64_t w, const Tensor& skip,
                      int64_t s) {
        Tensor tmp({B * h * w * 2 * u});
        up_[static_cast<size_t>(i)].forward(src.data(), B, h, w, tmp.data(), {}, ser);
        Tensor shuffled({B * 4 * h * w * (u / 2)});
        ops::pixel_shuffle(tmp.data(), B, h, w, 2 * u, 2, shuffled.data());
        tmp = Tensor();
        Tensor cat({B * 4 * h * w * (u / 2 + s)});
        ops::concat_channels(shuffled.data(), u / 2, skip.data(), s, B * 4 * h * w, cat.data());
        return cat;
    };
    Tensor e1({B * H * W * d});
    patch_embed_.forward(x, B, H, W, e1.data(), {}, ser);
    if (trace) trace("patch_embed", e1.data(), {B, H, W, d});
    run_level(run, enc1_, "encoder_level1", e1.data(), B, H, W);
    Tensor e2 = down(0, e1, d, H, W);
    run_level(run, enc2_, "encoder_level2", e2.data(), B, H / 2, W / 2);
    Tensor e3 = down(1, e2, 2 * d, H / 2, W / 2);
    run_level(run, enc3_, "encoder_level3", e3.data(), B, H / 4, W / 4);
    Tensor lat = down(2, e3, 4 * d, H / 4, W / 4);
    run_level(run, latent_, "latent", lat.data(), B, H / 8, W / 8);

    Tensor cat3 = up_cat(0, lat, 8 * d, H / 8, W / 8, e3, 4 * d);
    lat = Tensor();
    e3 = Tensor();
    Tensor d3({B * (H / 4) * (W / 4) * 4 * d});
    reduce3_.forward(cat3.data(), B, H / 4, W / 4, d3.data(), {}, ser);
    cat3 = Tensor();
    run_level(run, dec3_, "decoder_level3", d3.data(), B, H / 4, W / 4);

    Tensor cat2 = up_cat(1, d3, 4 * d, H / 4, W / 4, e2, 2 * d);
    d3 = Tensor();
    e2 = Tensor();
    Tensor d2({B * (H / 2) * (W / 2) * 2 * d});
    reduce2_.forward(cat2.data(), B, H / 2, W / 2, d2.data(), {}, ser);
    cat2 = Tensor();
    run_level(run, dec2_, "decoder_level2", d2.data(), B, H / 2, W / 2);

    Tensor d1 = up_cat(2, d2, 2 * d, H / 2, W / 2, e1, d);
    d2 = Tensor();
    e1 = Tensor();
    run_level(run, dec1_, "decoder_level1", d1.data(), B, H, W);
    run_level(run, refine_, "refinement", d1.data(), B, H, W);
    ops::Conv2dPost post;
    post.residual = x;  // global residual: output(d1) + input
    output_.forward(d1.data(), B, H, W, y, post, ser);
    if (trace) trace("output", y, {B, H, W, static_cast<int64_t>(cfg_.inp_channels)});
}

}  // namespace rv::backbone
