// Workspace arena. Layer: vision/core.
#include "vision/core/workspace.h"

#include <cstdlib>

#include "vision/core/error.h"

namespace rv {

void Workspace::FreeAligned::operator()(std::byte* p) const noexcept { std::free(p); }

void Workspace::reserve(size_t bytes) {
    bytes = align_up(bytes);
    RV_ASSERT(used_ == 0);
    if (bytes <= capacity_) return;
    buffer_.reset();
    capacity_ = 0;
    void* p = std::aligned_alloc(kAlign, bytes);
    RV_CHECK(p != nullptr, ErrorCode::kLimit, "cannot allocate ", bytes >> 20,
             " MiB of working memory for this input: use a smaller image or batch");
    buffer_.reset(static_cast<std::byte*>(p));
    capacity_ = bytes;
}

void* Workspace::take_bytes(size_t bytes) {
    bytes = align_up(bytes);
    RV_ASSERT(used_ + bytes <= capacity_);
    void* p = buffer_.get() + used_;
    used_ += bytes;
    if (used_ > high_water_) high_water_ = used_;
    return p;
}

void Workspace::rewind(size_t mark) {
    RV_ASSERT(mark <= used_);
    used_ = mark;
}

}  // namespace rv
