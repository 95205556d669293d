// Where a forward pass spends its time, by op class (for `rwkv-vision bench`). Off (a null
// pointer) costs nothing; on, each op is timed with a steady clock around its call.
// Layer: vision/core. PyTorch counterpart: torch.profiler's per-op table, coarsened to classes.
#pragma once

#include <array>
#include <chrono>

namespace rv {

enum class OpClass { kMatmul = 0, kWkv, kShiftMix, kNorm, kOther, kCount };
inline constexpr const char* kOpClassNames[] = {"matmul", "wkv", "shift_mix", "norm", "other"};

struct OpProfile {
    std::array<double, static_cast<size_t>(OpClass::kCount)> seconds{};
    void clear() { seconds.fill(0.0); }
    double total() const {
        double t = 0.0;
        for (double s : seconds) t += s;
        return t;
    }
};

// Adds the lifetime of this object to profile->seconds[cls] (nothing when profile is null).
class OpTimer {
public:
    OpTimer(OpProfile* profile, OpClass cls) : profile_(profile), cls_(cls) {
        if (profile_) start_ = std::chrono::steady_clock::now();
    }
    ~OpTimer() {
        if (profile_)
            profile_->seconds[static_cast<size_t>(cls_)] +=
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    OpTimer(const OpTimer&) = delete;
    OpTimer& operator=(const OpTimer&) = delete;

private:
    OpProfile* profile_;
    OpClass cls_;
    std::chrono::steady_clock::time_point start_{};
};

}  // namespace rv
