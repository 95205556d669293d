// Classification head. Layer: heads.
#include "heads/classification_head.h"

#include <cmath>

#include "vision/core/error.h"

namespace rv::heads {

void ClassificationHead::load(weights::WeightStore& store, const std::string& prefix,
                              backbone::VrwkvConfig& cfg, bool check_config) {
    const int64_t C = cfg.embed_dims;
    auto linear = [&](const std::string& name, int64_t in) {
        const std::string wk = prefix + name + ".weight", bk = prefix + name + ".bias";
        RV_CHECK(store.contains(wk), ErrorCode::kNotFound, store.path(), ": missing key '", wk, "'");
        const Shape& ws = store.entry(wk).shape;
        RV_CHECK(ws.size() == 2 && ws[1] == in, ErrorCode::kShapeMismatch, store.path(), ": key '", wk,
                 "' has shape ", shape_str(ws), ", expected [N, ", in, "]");
        Tensor w = store.take(wk, ws);
        Tensor b = store.take(bk, Shape{ws[0]});
        ops::Linear l;
        l.set_weights(w, &b);
        return l;
    };
    if (store.contains(prefix + "fc.weight")) {
        kind_ = backbone::HeadKind::kLinear;
        fc_ = linear("fc", C);
        num_classes_ = fc_.out_features();
    } else if (store.contains(prefix + "0.weight")) {
        kind_ = backbone::HeadKind::kMlp;
        fc0_ = linear("0", C);
        fc2_ = linear("2", fc0_.out_features());
        num_classes_ = fc2_.out_features();
    } else {
        RV_THROW(ErrorCode::kNotFound, store.path(), ": no classification head (expected '", prefix,
                 "fc.weight' or '", prefix, "0.weight')");
    }
    if (check_config) {
        const std::string key = prefix + (kind_ == backbone::HeadKind::kLinear ? "fc.weight" : "0.weight");
        RV_CHECK(cfg.head == kind_, ErrorCode::kShapeMismatch, store.path(), ": the config says a ",
                 cfg.head == backbone::HeadKind::kMlp ? "mlp" : "linear", " head but the file has '", key,
                 "'");
        RV_CHECK(cfg.num_classes == num_classes_, ErrorCode::kShapeMismatch, store.path(), ": the head has ",
                 num_classes_, " classes, the config says num_classes ", cfg.num_classes);
        RV_CHECK(kind_ == backbone::HeadKind::kLinear || cfg.head_hidden_dims == fc0_.out_features(),
                 ErrorCode::kShapeMismatch, store.path(), ": key '", key, "' has ", fc0_.out_features(),
                 " outputs, the config says head_hidden_dims ", cfg.head_hidden_dims);
    }
    cfg.head = kind_;
    cfg.num_classes = static_cast<int>(num_classes_);
    if (kind_ == backbone::HeadKind::kMlp) cfg.head_hidden_dims = static_cast<int>(fc0_.out_features());
}

Tensor ClassificationHead::forward(const Tensor& features) const {
    const int64_t B = features.dim(0), C = features.dim(1), N = num_classes_;
    Tensor logits({B, N});
    // One image at a time: oneDNN's summation order depends on the row count, and an image's
    // logits must not depend on the batch it came in. The head is a tiny share of the time.
    if (kind_ == backbone::HeadKind::kLinear) {
        for (int64_t b = 0; b < B; ++b) fc_.forward(features.data() + b * C, 1, logits.data() + b * N);
    } else {
        const int64_t Hd = fc0_.out_features();
        Tensor hidden({1, Hd});
        for (int64_t b = 0; b < B; ++b) {
            fc0_.forward(features.data() + b * C, 1, hidden.data());
            for (int64_t i = 0; i < Hd; ++i) hidden[i] = std::tanh(hidden[i]);
            fc2_.forward(hidden.data(), 1, logits.data() + b * N);
        }
    }
    return logits;
}

}  // namespace rv::heads
