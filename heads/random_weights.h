// A checkpoint of random weights for any VRWKV config, in the official mmcls key layout
// (backbone.*, head.*), so benchmarks can run the published sizes without downloading them.
// Layer: heads. PyTorch counterpart: building VRWKV(...) + LinearClsHead with their default init
// (tools/rwkv_ref/vrwkv.py build_classifier); values follow the official init ranges, not its RNG.
#pragma once

#include <cstdint>

#include "backbone/vrwkv_config.h"
#include "vision/weights/weight_store.h"

namespace rv::heads {

// Linear and patch weights ~ N(0, 0.02²); LayerNorms weight 1, bias 0; spatial_decay and
// spatial_first in the official "fancy init" ranges; mixes in [0, 1]; layer scale = init_values.
weights::WeightStore random_checkpoint(const backbone::VrwkvConfig& cfg, uint64_t seed);

}  // namespace rv::heads
