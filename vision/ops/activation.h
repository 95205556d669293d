// Element-wise activations shared by the dense-prediction ops (conv post-ops, stand-alone calls).
// Layer: vision/ops. PyTorch counterparts: nn.ReLU, nn.ReLU6, nn.GELU() (exact, erf), nn.Sigmoid,
// nn.SiLU (= timm Swish), nn.Hardswish (x·relu6(x + 3)/6).
#pragma once

#include <cstdint>

namespace rv::ops {

enum class Activation { kNone, kRelu, kRelu6, kGelu, kSigmoid, kSilu, kHardSwish };

// "none", "relu", "relu6", "gelu", "sigmoid", "silu", "hardswish".
const char* activation_name(Activation a);
// Parses the names above (also "swish" = silu, "hswish" = hardswish, "identity" = none, the timm
// spellings); throws rv::Error (kInvalidArgument) naming the value.
Activation parse_activation(const char* name);

// The scalar definition (the reference every fused or vectorised form is tested against).
float activate(Activation a, float x);

// y[i] = act(x[i]) for i < n; y may alias x.
void activation(const float* x, int64_t n, Activation a, float* y);

}  // namespace rv::ops
