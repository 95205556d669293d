// oneDNN engine singleton. Layer: vision/ops/onednn.
#include "vision/ops/onednn/runtime.h"

namespace rv::ops::onednn {

dnnl::engine& engine() {
    static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    return eng;
}

}  // namespace rv::ops::onednn
