// Google Benchmark of ops::Conv2d and the dense ops (vision/ops/conv2d.h, dense_ops.h) at the shapes
// of Restore-RWKV (C = 48 at 256², OmniShift depthwise 5×5) and RWKV-UNet (depthwise 9×9, 1×1
// expansions). Args: H = W, Cin, Cout, k, groups, threads (1: serial in the calling thread; 2: the
// row blocks spread over a 2-thread pool). items/s counts multiply-adds (convs) or output values.
// The PyTorch side of the comparison is benchmarks/ops/torch_dense_ops.py (same shapes).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "vision/core/tensor.h"
#include "vision/core/threading.h"
#include "vision/ops/conv2d.h"
#include "vision/ops/dense_ops.h"

namespace {

using rv::ops::ConvImpl;

std::vector<float> random_vector(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> U(-1.0f, 1.0f);
    std::vector<float> x(n);
    for (auto& e : x) e = U(rng);
    return x;
}

void BM_Conv2d(benchmark::State& state, ConvImpl impl) {
    const int64_t HW = state.range(0), cin = state.range(1), cout = state.range(2), k = state.range(3),
                  groups = state.range(4), threads = state.range(5);
    const auto shape = rv::ops::Conv2dShape::square(cin, cout, k, 1, -1, groups);
    rv::set_num_threads(static_cast<int>(threads));
    rv::Tensor w({cout, cin / groups, k, k}), b({cout});
    const auto wv = random_vector(static_cast<size_t>(w.numel()), 1);
    std::copy(wv.begin(), wv.end(), w.data());
    rv::ops::Conv2d conv;
    conv.set_weights(w, &b, shape);
    conv.set_impl(impl);
    const auto x = random_vector(static_cast<size_t>(HW * HW * cin), 2);
    std::vector<float> y(static_cast<size_t>(HW * HW * cout));
    conv.prepare(HW, HW);
    for (auto _ : state) {
        conv.forward(x.data(), 1, HW, HW, y.data(), {}, /*serial=*/threads == 1);
        benchmark::DoNotOptimize(y.data());
    }
    state.SetItemsProcessed(state.iterations() * HW * HW * cout * k * k * (cin / groups));
    state.SetLabel(conv.implementation(HW, HW));
}

// H = W, Cin, Cout, k, groups, threads
#define CONV_SHAPES                       \
    Args({256, 48, 48, 3, 1, 1})          \
        ->Args({256, 48, 48, 3, 1, 2})    \
        ->Args({256, 48, 48, 5, 48, 1})   \
        ->Args({256, 48, 48, 5, 48, 2})   \
        ->Args({64, 384, 384, 5, 384, 1}) \
        ->Args({56, 96, 96, 9, 96, 1})    \
        ->Args({56, 96, 96, 9, 96, 2})    \
        ->Args({56, 96, 384, 1, 1, 1})    \
        ->Args({56, 96, 384, 1, 1, 2})    \
        ->Args({256, 1, 48, 3, 1, 1})     \
        ->Args({256, 96, 1, 3, 1, 1})     \
        ->Unit(benchmark::kMillisecond)   \
        ->UseRealTime()
BENCHMARK_CAPTURE(BM_Conv2d, onednn, ConvImpl::kOneDnn)->CONV_SHAPES;

void BM_PixelShuffle(benchmark::State& state) {
    const int64_t HW = state.range(0), C = state.range(1);
    const auto x = random_vector(static_cast<size_t>(HW * HW * C), 3);
    std::vector<float> y(x.size());
    for (auto _ : state) {
        rv::ops::pixel_shuffle(x.data(), 1, HW, HW, C, 2, y.data());
        benchmark::DoNotOptimize(y.data());
    }
    state.SetItemsProcessed(state.iterations() * HW * HW * C);
}
BENCHMARK(BM_PixelShuffle)->Args({128, 96})->Unit(benchmark::kMicrosecond);

void BM_BilinearUp2(benchmark::State& state) {
    const int64_t HW = state.range(0), C = state.range(1);
    const auto x = random_vector(static_cast<size_t>(HW * HW * C), 4);
    std::vector<float> y(x.size() * 4);
    for (auto _ : state) {
        rv::ops::bilinear_resize(x.data(), 1, HW, HW, C, 2 * HW, 2 * HW, false, y.data(), 2.0, 2.0);
        benchmark::DoNotOptimize(y.data());
    }
    state.SetItemsProcessed(state.iterations() * 4 * HW * HW * C);
}
BENCHMARK(BM_BilinearUp2)->Args({56, 96})->Unit(benchmark::kMicrosecond);

}  // namespace
