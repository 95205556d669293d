// Restorer: padding, tiling with feathered blending, channel/alpha handling. Layer: heads.
#include "heads/restorer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "heads/classifier.h"
#include "vision/core/error.h"
#include "vision/ops/bicubic_resize.h"
#include "vision/weights/weight_store.h"

namespace rv::heads {
namespace fs = std::filesystem;
namespace {

// Index into [0, n) reflected about the borders (F.pad 'reflect' for pads < n; repeated beyond).
int64_t reflect(int64_t i, int64_t n) {
    if (n == 1) return 0;
    const int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

// x [B, H, W, C] window rows [y0, y0+h), cols [x0, x0+w) reflect-padded to [B, PH, PW, C].
void copy_window_padded(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t y0, int64_t x0,
                        int64_t h, int64_t w, int64_t PH, int64_t PW, float* out) {
    for (int64_t b = 0; b < B; ++b)
        for (int64_t py = 0; py < PH; ++py) {
            const int64_t sy = y0 + reflect(py, h);
            for (int64_t px = 0; px < PW; ++px) {
                const int64_t sx = x0 + reflect(px, w);
                const float* s = x + ((b * H + sy) * W + sx) * C;
                std::copy(s, s + C, out + ((b * PH + py) * PW + px) * C);
            }
        }
}

int64_t round_up8(int64_t v) { return (v + 7) / 8 * 8; }

// Weight of position i in a tile covering [a, b) of [0, n): linear ramps of length `ramp` at the
// tile's inner edges, so two neighbours overlapping by `ramp` cross-fade with weights summing to 1.
float feather(int64_t i, int64_t a, int64_t b, int64_t n, int64_t ramp) {
    float w = 1.0f;
    if (ramp <= 0) return w;
    const auto r = static_cast<float>(ramp);
    if (a > 0) w = std::min(w, (static_cast<float>(i - a) + 0.5f) / r);
    if (b < n) w = std::min(w, (static_cast<float>(b - i) - 0.5f) / r);
    return std::max(w, 1e-3f);
}
}  // namespace

Restorer Restorer::load(const std::string& model, int scale) {
    const std::string path = resolve_weights_path(model);
    auto store = weights::WeightStore::open(path);
    backbone::RestoreRwkvConfig cfg;
    Restorer r;
    const auto& meta = store.metadata();
    if (meta.count("config")) {
        if (meta.count("arch"))
            RV_CHECK(meta.at("arch") == "restore_rwkv", ErrorCode::kUnsupported, path, ": model arch '",
                     meta.at("arch"), "' is not a restoration model (restore_rwkv)");
        cfg = backbone::restore_config_from_json(meta.at("config"), path);
        if (meta.count("task")) r.task_ = meta.at("task");
    } else {
        RV_CHECK(backbone::looks_like_restore_rwkv(store), ErrorCode::kUnsupported, path,
                 ": not a Restore-RWKV checkpoint (no patch_embed / encoder_level1 / down1_2 keys) and no "
                 "rwkv-vision config metadata");
        cfg = backbone::infer_restore_config(store);
    }
    if (scale > 0) {
        RV_CHECK(meta.count("config") == 0 || scale == cfg.scale, ErrorCode::kInvalidArgument, "model '",
                 model, "' works at scale ", cfg.scale, ", not ", scale);
        cfg.scale = scale;
    }
    if (r.task_.empty()) r.task_ = cfg.scale > 1 ? "sr" : "";
    r.model_ = backbone::RestoreRwkv::load(store, cfg);
    r.source_ = path;
    return r;
}

int64_t Restorer::estimate_bytes(int64_t B, int64_t H, int64_t W) const {
    const int64_t s = scale(), C = channels();
    const int64_t OH = H * s, OW = W * s, PH = round_up8(OH), PW = round_up8(OW);
    const int64_t planes = B * PH * PW * C * 4;
    // model activations + padded input, padded output, upsampled input, result
    return model_.peak_bytes(B, PH, PW) + 4 * planes + (int64_t{64} << 20);
}

int64_t Restorer::plan_tile(int64_t B, int64_t H, int64_t W, const TileOptions& opt) const {
    const int64_t s = scale();
    if (opt.tile == 0) return 0;
    if (opt.tile > 0) return opt.tile * s >= std::max(H, W) * s ? 0 : opt.tile * s;
    if (estimate_bytes(B, H, W) <= opt.max_memory) return 0;
    const int64_t pad = std::max<int64_t>(0, opt.tile_pad) * s;
    int64_t t = std::max(H, W) * s;
    while (t > 32) {
        t = std::max<int64_t>(32, round_up8(t * 3 / 4));
        const int64_t side = (t + 2 * pad + s - 1) / s;  // input pixels of a tile with its context
        if (estimate_bytes(B, side, side) <= opt.max_memory) return t;
    }
    RV_THROW(ErrorCode::kLimit, "not even a 32-pixel tile (with ", opt.tile_pad,
             " pixels of context) fits the memory limit of ", opt.max_memory >> 20,
             " MiB; raise --max-memory");
}

void Restorer::run_padded(const float* x, int64_t B, int64_t H, int64_t W, float* y, bool serial) const {
    const int64_t C = channels(), PH = round_up8(H), PW = round_up8(W);
    if (PH == H && PW == W) {
        model_.forward(x, B, H, W, y, serial);
        return;
    }
    Tensor xp({B * PH * PW * C}), yp({B * PH * PW * C});
    copy_window_padded(x, B, H, W, C, 0, 0, H, W, PH, PW, xp.data());
    model_.forward(xp.data(), B, PH, PW, yp.data(), serial);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t r = 0; r < H; ++r) {
            const float* s = yp.data() + ((b * PH + r) * PW) * C;
            std::copy(s, s + W * C, y + ((b * H + r) * W) * C);
        }
}

Tensor Restorer::run(const float* x, int64_t B, int64_t H, int64_t W, const TileOptions& opt,
                     TileReport* report) const {
    RV_CHECK(B > 0 && H > 0 && W > 0, ErrorCode::kInvalidArgument, "restore: empty image ", H, "x", W);
    const int64_t s = scale(), C = channels(), OH = H * s, OW = W * s;
    // Super-resolution: the network runs on the bicubic-upsampled image (once, for all tiles).
    Tensor up;
    const float* src = x;
    if (s > 1) {
        up = Tensor({B, OH, OW, C});
        ops::bicubic_resize(x, B, H, W, C, OH, OW, up.data(), 1.0 / static_cast<double>(s),
                            1.0 / static_cast<double>(s));
        src = up.data();
    }
    Tensor out({B, OH, OW, C});
    const int64_t t = plan_tile(B, H, W, opt);
    if (report) {
        report->tile = t;
        report->tiles = 1;
    }
    if (t == 0) {
        if (report) report->estimated_bytes = estimate_bytes(B, H, W);
        run_padded(src, B, OH, OW, out.data(), opt.serial);
        return out;
    }
    const int64_t pad = std::max<int64_t>(0, opt.tile_pad) * s;
    Tensor wsum({OH * OW});
    int64_t count = 0;
    for (int64_t y0 = 0; y0 < OH; y0 += t) {
        for (int64_t x0 = 0; x0 < OW; x0 += t) {
            const int64_t ya = std::max<int64_t>(0, y0 - pad), yb = std::min(OH, y0 + t + pad);
            const int64_t xa = std::max<int64_t>(0, x0 - pad), xb = std::min(OW, x0 + t + pad);
            const int64_t h = yb - ya, w = xb - xa, PH = round_up8(h), PW = round_up8(w);
            Tensor xp({B * PH * PW * C}), yp({B * PH * PW * C});
            copy_window_padded(src, B, OH, OW, C, ya, xa, h, w, PH, PW, xp.data());
            model_.forward(xp.data(), B, PH, PW, yp.data(), opt.serial);
            for (int64_t r = 0; r < h; ++r) {
                const float wy = feather(ya + r, ya, yb, OH, 2 * pad);
                for (int64_t c = 0; c < w; ++c) {
                    const float wt = wy * feather(xa + c, xa, xb, OW, 2 * pad);
                    wsum[(ya + r) * OW + xa + c] += wt;
                    for (int64_t b = 0; b < B; ++b) {
                        const float* p = yp.data() + ((b * PH + r) * PW + c) * C;
                        float* o = out.data() + ((b * OH + ya + r) * OW + xa + c) * C;
                        for (int64_t k = 0; k < C; ++k) o[k] += wt * p[k];
                    }
                }
            }
            ++count;
        }
    }
    for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < OH * OW; ++i)
            for (int64_t k = 0; k < C; ++k) out[(b * OH * OW + i) * C + k] /= wsum[i];
    if (report) {
        report->tiles = count;
        const int64_t side = (t + 2 * pad + s - 1) / s;
        report->estimated_bytes = estimate_bytes(B, side, side) + 2 * B * OH * OW * C * 4;
    }
    return out;
}

image::ImageF Restorer::restore(const image::ImageF& in, const TileOptions& opt, TileReport* report) const {
    const int64_t H = in.height, W = in.width, s = scale(), C = channels();
    const auto npx = static_cast<size_t>(H * W);
    RV_CHECK(in.channels == 1 || in.channels == 3, ErrorCode::kUnsupported, "restore: images with ",
             in.channels, " colour channels are not supported");
    image::ImageF out;
    out.height = static_cast<int>(H * s);
    out.width = static_cast<int>(W * s);
    out.channels = in.channels;
    out.bit_depth = in.bit_depth;
    const auto onpx = static_cast<size_t>(out.height) * static_cast<size_t>(out.width);
    out.pixels.assign(onpx * static_cast<size_t>(in.channels), 0.0f);
    if (C == in.channels) {
        const Tensor y = run(in.pixels.data(), 1, H, W, opt, report);
        std::copy(y.data(), y.data() + y.numel(), out.pixels.begin());
    } else if (C == 3 && in.channels == 1) {  // gray through a colour model: replicate, then mean
        Tensor x({1, H, W, 3});
        for (size_t i = 0; i < npx; ++i)
            x[static_cast<int64_t>(i) * 3] = x[static_cast<int64_t>(i) * 3 + 1] =
                x[static_cast<int64_t>(i) * 3 + 2] = in.pixels[i];
        const Tensor y = run(x.data(), 1, H, W, opt, report);
        for (size_t i = 0; i < onpx; ++i) {
            const auto j = static_cast<int64_t>(i) * 3;
            out.pixels[i] = (y[j] + y[j + 1] + y[j + 2]) / 3.0f;
        }
    } else if (C == 1) {  // colour through a gray model: each channel as its own image
        Tensor x({in.channels, H, W, 1});
        for (size_t i = 0; i < npx; ++i)
            for (int c = 0; c < in.channels; ++c)
                x[static_cast<int64_t>(static_cast<size_t>(c) * npx + i)] =
                    in.pixels[i * static_cast<size_t>(in.channels) + static_cast<size_t>(c)];
        const Tensor y = run(x.data(), in.channels, H, W, opt, report);
        for (size_t i = 0; i < onpx; ++i)
            for (int c = 0; c < in.channels; ++c)
                out.pixels[i * static_cast<size_t>(in.channels) + static_cast<size_t>(c)] =
                    y[static_cast<int64_t>(static_cast<size_t>(c) * onpx + i)];
    } else {
        RV_THROW(ErrorCode::kUnsupported, "restore: a ", C, "-channel model cannot restore a ", in.channels,
                 "-channel image");
    }
    if (in.has_alpha()) {
        if (s == 1) {
            out.alpha = in.alpha;
        } else {
            out.alpha.resize(onpx);
            ops::bicubic_resize(in.alpha.data(), 1, H, W, 1, H * s, W * s, out.alpha.data(),
                                1.0 / static_cast<double>(s), 1.0 / static_cast<double>(s));
            for (float& a : out.alpha) a = std::clamp(a, 0.0f, 1.0f);
        }
    }
    return out;
}

}  // namespace rv::heads
