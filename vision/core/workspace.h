// Workspace: one arena per forward context, sized once per input shape at prepare(), from which a
// forward pass takes all its temporary buffers (no malloc inside forward(); peak memory known).
// Layer: vision/core. PyTorch counterpart: none (PyTorch allocates per op through its caching
// allocator); the idea is ncnn's workspace allocator / llm.c's single activation buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace rv {

class Workspace {
public:
    static constexpr size_t kAlign = 64;
    static constexpr size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

    // Makes room for `bytes` (a plan's total); keeps the buffer if it is already big enough.
    // Throws rv::Error (kLimit) when the allocation fails.
    void reserve(size_t bytes);
    size_t capacity() const { return capacity_; }
    size_t used() const { return used_; }
    size_t high_water() const { return high_water_; }

    // Takes n elements (64-byte aligned) from the arena. Running out is a bug in the sizing
    // (the plan and the forward pass disagree): RV_ASSERT, not a user error.
    void* take_bytes(size_t bytes);
    float* take(size_t n) { return static_cast<float*>(take_bytes(n * sizeof(float))); }
    float* take(int64_t n) { return take(static_cast<size_t>(n)); }

    // Stack discipline: everything taken after mark() is given back by rewind().
    size_t mark() const { return used_; }
    void rewind(size_t mark);

    // RAII rewind for a scope.
    class Scope {
    public:
        explicit Scope(Workspace& ws) : ws_(ws), mark_(ws.mark()) {}
        ~Scope() { ws_.rewind(mark_); }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        Workspace& ws_;
        size_t mark_;
    };

private:
    struct FreeAligned {
        void operator()(std::byte* p) const noexcept;
    };
    std::unique_ptr<std::byte[], FreeAligned> buffer_;
    size_t capacity_ = 0, used_ = 0, high_water_ = 0;
};

// Adds up a forward pass's buffers in the order they are taken (the same rounding as Workspace).
class WorkspacePlan {
public:
    WorkspacePlan& bytes(size_t n) {
        total_ += Workspace::align_up(n);
        return *this;
    }
    WorkspacePlan& floats(int64_t n) { return bytes(static_cast<size_t>(n) * sizeof(float)); }
    size_t total() const { return total_; }

private:
    size_t total_ = 0;
};

}  // namespace rv
