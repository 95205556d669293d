// VRWKV block forward. Layer: backbone.
#include "backbone/block.h"

#include <vector>

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

void Block::forward(float* x, int64_t B, int64_t H, int64_t W) const {
    const int64_t C = att.dims, rows = B * H * W;
    const auto n = static_cast<size_t>(rows * C);
    if (ln0) ln0->forward(x, x, rows);
    std::vector<float> normed(n), out(n);
    auto residual = [&](const std::optional<Tensor>& gamma) {
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < C; ++c) {
                const auto i = static_cast<size_t>(r * C + c);
                x[i] += gamma ? (*gamma)[c] * out[i] : out[i];
            }
    };
    if (post_norm) {
        att.forward(x, out.data(), B, H, W);
        ln1.forward(out.data(), out.data(), rows);
        residual(gamma1);
        ffn.forward(x, out.data(), B, H, W);
        ln2.forward(out.data(), out.data(), rows);
        residual(gamma2);
    } else {
        ln1.forward(x, normed.data(), rows);
        att.forward(normed.data(), out.data(), B, H, W);
        residual(gamma1);
        ln2.forward(x, normed.data(), rows);
        ffn.forward(normed.data(), out.data(), B, H, W);
        residual(gamma2);
    }
}

}  // namespace rv::backbone
