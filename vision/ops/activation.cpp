// Element-wise activations (scalar definitions). Layer: vision/ops.
#include "vision/ops/activation.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "vision/core/error.h"

namespace rv::ops {

const char* activation_name(Activation a) {
    switch (a) {
        case Activation::kNone:
            return "none";
        case Activation::kRelu:
            return "relu";
        case Activation::kRelu6:
            return "relu6";
        case Activation::kGelu:
            return "gelu";
        case Activation::kSigmoid:
            return "sigmoid";
        case Activation::kSilu:
            return "silu";
        case Activation::kHardSwish:
            return "hardswish";
    }
    return "?";
}

Activation parse_activation(const char* name) {
    const std::string s = name ? name : "";
    if (s == "none" || s == "identity") return Activation::kNone;
    if (s == "relu") return Activation::kRelu;
    if (s == "relu6") return Activation::kRelu6;
    if (s == "gelu") return Activation::kGelu;
    if (s == "sigmoid") return Activation::kSigmoid;
    if (s == "silu" || s == "swish") return Activation::kSilu;
    if (s == "hardswish" || s == "hswish") return Activation::kHardSwish;
    RV_THROW(ErrorCode::kInvalidArgument, "unknown activation '", s,
             "': use none, relu, relu6, gelu, sigmoid, silu or hardswish");
}

float activate(Activation a, float x) {
    switch (a) {
        case Activation::kNone:
            return x;
        case Activation::kRelu:
            return x > 0.0f ? x : 0.0f;
        case Activation::kRelu6:
            return std::min(std::max(x, 0.0f), 6.0f);
        case Activation::kGelu:  // exact GELU, as nn.GELU() (approximate='none')
            return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
        case Activation::kSigmoid:
            return 1.0f / (1.0f + std::exp(-x));
        case Activation::kSilu:
            return x / (1.0f + std::exp(-x));
        case Activation::kHardSwish:
            return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    }
    return x;
}

void activation(const float* x, int64_t n, Activation a, float* y) {
    for (int64_t i = 0; i < n; ++i) y[i] = activate(a, x[i]);
}

}  // namespace rv::ops
