// Tensor: an owning, 64-byte-aligned fp32 buffer with a shape in PyTorch order.
// Layer: vision/core. PyTorch counterpart: torch.Tensor (contiguous, float32 only).
//
// Activations are channels-last ([B, T, C] tokens); kernels take raw pointers plus sizes and never
// allocate. Weights of any stored dtype are converted to fp32 when loaded (vision/weights).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace rv {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& shape);  // "[1, 3, 224, 224]"
int64_t shape_numel(const Shape& shape);    // product of dims; throws kLimit on overflow

// Limit on a single tensor's element count, so a corrupt header cannot ask for terabytes.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 34;

class Tensor {
public:
    Tensor() = default;
    explicit Tensor(Shape shape);  // zero-initialised
    Tensor(Shape shape, float fill);

    Tensor(Tensor&&) noexcept = default;
    Tensor& operator=(Tensor&&) noexcept = default;
    Tensor(const Tensor&) = delete;  // copies are explicit: clone()
    Tensor& operator=(const Tensor&) = delete;

    Tensor clone() const;

    const Shape& shape() const { return shape_; }
    int ndim() const { return static_cast<int>(shape_.size()); }
    int64_t dim(int i) const;  // negative i counts from the end
    int64_t numel() const { return numel_; }
    bool empty() const { return numel_ == 0; }

    float* data() { return data_.get(); }
    const float* data() const { return data_.get(); }
    float& operator[](int64_t i) { return data_.get()[i]; }
    float operator[](int64_t i) const { return data_.get()[i]; }

    // Changes the shape in place; the element count must stay the same.
    void reshape(Shape shape);

private:
    struct FreeAligned {
        void operator()(float* p) const noexcept;
    };
    Shape shape_;
    int64_t numel_ = 0;
    std::unique_ptr<float[], FreeAligned> data_;
};

}  // namespace rv
