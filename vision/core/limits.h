// Resource limits: the largest image, tensor, token grid and working memory a run accepts, so a
// hostile or mistaken input gives a clear rv::Error(kLimit) instead of an allocation failure or
// an out-of-memory kill.
// Layer: vision/core (depends on nothing). PyTorch counterpart: PIL.Image.MAX_IMAGE_PIXELS (the
// pixel limit); PyTorch itself has no such limits.
//
// One process-wide set, read by the image loaders (max_pixels), the weight readers
// (max_tensor_bytes) and the backbones (max_tokens, max_activation_bytes). Defaults come first,
// then the environment (RV_MAX_PIXELS, RV_MAX_TENSOR_BYTES, RV_MAX_TOKENS, RV_MAX_ACTIVATION_BYTES),
// then the CLI's --max-* flags through set_limits(). Values accept a binary suffix: 64K, 512M, 8G, 1T.
#pragma once

#include <cstdint>
#include <string>

namespace rv {

struct Limits {
    int64_t max_pixels = int64_t{1} << 28;            // width * height of one decoded image (268 Mpx)
    int64_t max_tensor_bytes = int64_t{1} << 32;      // one weight tensor, as stored and as fp32 (4 GiB)
    int64_t max_tokens = int64_t{1} << 20;            // patch tokens of one image in a forward pass
    int64_t max_activation_bytes = int64_t{8} << 30;  // working memory of one forward pass (8 GiB)
};

// The limits in force: the defaults overridden by the environment (read once, at first use; an
// unparsable value throws kInvalidArgument naming the variable), unless set_limits() was called.
const Limits& limits();

// Replaces the limits (the CLI calls this once, before any work starts; not thread-safe against
// concurrent readers). Every value must be positive, else kInvalidArgument.
void set_limits(const Limits& l);

// `base` with each RV_MAX_* variable that is set applied (kInvalidArgument when malformed).
Limits limits_from_env(Limits base = Limits{});

// Parses "268435456", "256M", "8G", "1T" (binary multiples) into a positive count; kInvalidArgument
// naming `what` otherwise.
int64_t parse_limit(const std::string& text, const std::string& what);

}  // namespace rv
