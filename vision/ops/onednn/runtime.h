// The process-wide oneDNN CPU engine. Layer: vision/ops/onednn (the only place dnnl.hpp is seen).
// PyTorch counterpart: the mkldnn engine PyTorch keeps internally.
#pragma once

#include <dnnl.hpp>

namespace rv::ops::onednn {

dnnl::engine& engine();

}  // namespace rv::ops::onednn
