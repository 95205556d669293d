// Classification head on pooled backbone features: global average pooling over tokens, then
// either Linear(C, N) (`head.fc`) or the VRWKV-L MLP Linear(C, H) → tanh → Linear(H, N)
// (`head.0`, `head.2`). Returns logits (softmax is the caller's choice).
// Layer: heads. PyTorch counterparts: mmcls GlobalAveragePooling + LinearClsHead;
// VRWKV_Classification.head in classification_internimage/models/vrwkv.py. Spec §2.1, §2.8.
#pragma once

#include <string>

#include "backbone/vrwkv_config.h"
#include "vision/core/tensor.h"
#include "vision/ops/linear.h"
#include "vision/weights/weight_store.h"

namespace rv::heads {

class ClassificationHead {
public:
    // prefix: "head." for mmcls checkpoints. With check_config, the file's class count and head
    // kind must match cfg (kShapeMismatch naming the key); without, cfg takes them from the file.
    void load(weights::WeightStore& store, const std::string& prefix, backbone::VrwkvConfig& cfg,
              bool check_config);
    Tensor forward(const Tensor& features) const;  // [B, C] -> logits [B, N]
    int64_t num_classes() const { return num_classes_; }

private:
    backbone::HeadKind kind_ = backbone::HeadKind::kLinear;
    ops::Linear fc_, fc0_, fc2_;
    int64_t num_classes_ = 0;
};

}  // namespace rv::heads
