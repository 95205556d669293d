// ForwardContext: what one forward pass needs besides the (shared, read-only) model: the workspace
// arena, how to run our kernels (spread over the pool, or serial inside a throughput task), an
// optional op-time profile, and per-shape caches. One per thread of work; never shared.
// Layer: backbone. PyTorch counterpart: none (PyTorch keeps this state globally); DESIGN.md §3
// "Runtime / Workspace".
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "vision/core/op_profile.h"
#include "vision/core/tensor.h"
#include "vision/core/threading.h"
#include "vision/core/workspace.h"

namespace rv::backbone {

// Observer of intermediate activations (tests compare them with PyTorch): name, data, shape.
using TraceFn = std::function<void(const std::string&, const float*, const Shape&)>;

struct ForwardContext {
    Workspace ws;
    // true: our kernels run in the calling thread (throughput mode: this context lives inside one
    // task of a parallel loop over images). false: they split their work over the pool.
    bool serial = false;
    OpProfile* profile = nullptr;
    TraceFn trace;

    // Set by the model's prepare step for the shape in use.
    int64_t B = -1, H = -1, W = -1;
    // Matmul scratch: one slice per thread slot (matmuls run as parallel (rows, columns) blocks), each the
    // largest any matmul of the pass needs.
    size_t matmul_scratch_bytes = 0;
    int matmul_scratch_slots = 1;
    void* matmul_scratch = nullptr;
    Tensor pos;  // position embedding resized to the current token grid
    int64_t pos_h = -1, pos_w = -1;

    // Sizes this context for one stand-alone module call (tests): serial, one scratch slot of
    // scratch_bytes, plus plan_bytes for the module's own buffers.
    void prepare_standalone(size_t plan_bytes, size_t scratch_bytes) {
        serial = true;
        ws.reserve(plan_bytes + Workspace::align_up(scratch_bytes));
        matmul_scratch_bytes = Workspace::align_up(scratch_bytes);
        matmul_scratch_slots = 1;
        matmul_scratch = ws.take_bytes(matmul_scratch_bytes);
    }

    // Runs body(begin, end) over [0, n): directly when serial, else on the pool.
    void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) const {
        if (serial || n <= grain)
            body(0, n);
        else
            parallel_for(0, n, grain, body);
    }
};

}  // namespace rv::backbone
