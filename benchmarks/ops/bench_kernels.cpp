// Google Benchmark of the engine's kernels per ISA level (vision/ops/kernels.h) at VRWKV-T shapes:
// C = 192, T = 196 (224×224 input, 14×14 patches) and T = 4096 (1024×1024 input), one thread.
// items/s counts output elements (T·C per Bi-WKV call, rows·C for the row kernels).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "vision/core/cpu_features.h"
#include "vision/ops/kernels.h"
#include "vision/ops/ref/bi_wkv_ref.h"

namespace {

using rv::Isa;

std::vector<float> random_vector(size_t n, float lo, float hi, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> U(lo, hi);
    std::vector<float> x(n);
    for (auto& e : x) e = U(rng);
    return x;
}

bool supported(benchmark::State& state, Isa isa) {
    if (static_cast<int>(isa) > static_cast<int>(rv::detected_isa())) {
        state.SkipWithError("ISA not supported by this CPU");
        return false;
    }
    return true;
}

void BM_BiWkv(benchmark::State& state, Isa isa) {
    if (!supported(state, isa)) return;
    const int64_t T = state.range(0), C = state.range(1);
    const auto n = static_cast<size_t>(T * C);
    const auto decay = random_vector(static_cast<size_t>(C), -5.0f, 3.0f, 1);
    const auto first = random_vector(static_cast<size_t>(C), -1.0f, 1.0f, 2);
    const auto k = random_vector(n, -3.0f, 3.0f, 3), v = random_vector(n, -1.0f, 1.0f, 4);
    const auto gate = random_vector(n, 0.0f, 1.0f, 5);
    std::vector<float> y(n);
    rv::ops::BiWkvArgs a;
    a.decay = decay.data();
    a.first = first.data();
    a.k = k.data();
    a.v = v.data();
    a.gate = gate.data();
    a.y = y.data();
    a.T = T;
    a.C = C;
    a.c0 = 0;
    a.c1 = C;
    const auto& kt = rv::ops::kernels_for(isa);
    for (auto _ : state) {
        kt.bi_wkv(a);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * T * C);
}

// The fp64 reference, for scale (no gate).
void BM_BiWkvReference(benchmark::State& state) {
    const int64_t T = state.range(0), C = state.range(1);
    const auto n = static_cast<size_t>(T * C);
    const auto decay = random_vector(static_cast<size_t>(C), -5.0f, 3.0f, 1);
    const auto first = random_vector(static_cast<size_t>(C), -1.0f, 1.0f, 2);
    const auto k = random_vector(n, -3.0f, 3.0f, 3), v = random_vector(n, -1.0f, 1.0f, 4);
    std::vector<float> y(n);
    for (auto _ : state) {
        rv::ops::ref::bi_wkv(decay.data(), first.data(), k.data(), v.data(), y.data(), 1, T, C, {});
        benchmark::DoNotOptimize(y.data());
    }
    state.SetItemsProcessed(state.iterations() * T * C);
}

void BM_ShiftMix3(benchmark::State& state, Isa isa) {
    if (!supported(state, isa)) return;
    const int64_t H = 14, W = 14, C = state.range(0), T = H * W;
    const auto n = static_cast<size_t>(T * C);
    const auto x = random_vector(n, -1.0f, 1.0f, 6);
    std::vector<float> mu[3], out[3];
    rv::ops::ShiftMixArgs a;
    a.x = x.data();
    a.H = H;
    a.W = W;
    a.C = C;
    a.row0 = 0;
    a.row1 = T;
    a.n_out = 3;
    for (int i = 0; i < 3; ++i) {
        mu[i] = random_vector(static_cast<size_t>(C), 0.0f, 1.0f, 7 + static_cast<unsigned>(i));
        out[i].resize(n);
        a.mu[i] = mu[i].data();
        a.out[i] = out[i].data();
    }
    const auto& kt = rv::ops::kernels_for(isa);
    for (auto _ : state) {
        kt.shift_mix(a);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * T * C * 3);
}

void BM_LayerNorm(benchmark::State& state, Isa isa) {
    if (!supported(state, isa)) return;
    const int64_t rows = 196, C = state.range(0);
    const auto n = static_cast<size_t>(rows * C);
    const auto x = random_vector(n, -1.0f, 1.0f, 10);
    const auto w = random_vector(static_cast<size_t>(C), 0.5f, 1.5f, 11);
    const auto b = random_vector(static_cast<size_t>(C), -0.5f, 0.5f, 12);
    std::vector<float> y(n);
    rv::ops::LayerNormArgs a;
    a.x = x.data();
    a.weight = w.data();
    a.bias = b.data();
    a.y = y.data();
    a.C = C;
    a.row0 = 0;
    a.row1 = rows;
    const auto& kt = rv::ops::kernels_for(isa);
    for (auto _ : state) {
        kt.layer_norm(a);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * rows * C);
}

}  // namespace

BENCHMARK_CAPTURE(BM_BiWkv, scalar, Isa::kScalar)->Args({196, 192})->Args({4096, 192});
BENCHMARK_CAPTURE(BM_BiWkv, avx2, Isa::kAvx2)->Args({196, 192})->Args({4096, 192});
BENCHMARK_CAPTURE(BM_BiWkv, avx512, Isa::kAvx512)->Args({196, 192})->Args({4096, 192});
BENCHMARK(BM_BiWkvReference)->Args({196, 192});
BENCHMARK_CAPTURE(BM_ShiftMix3, scalar, Isa::kScalar)->Arg(192);
BENCHMARK_CAPTURE(BM_ShiftMix3, avx2, Isa::kAvx2)->Arg(192);
BENCHMARK_CAPTURE(BM_ShiftMix3, avx512, Isa::kAvx512)->Arg(192);
BENCHMARK_CAPTURE(BM_LayerNorm, scalar, Isa::kScalar)->Arg(192)->Arg(768);
BENCHMARK_CAPTURE(BM_LayerNorm, avx2, Isa::kAvx2)->Arg(192)->Arg(768);
BENCHMARK_CAPTURE(BM_LayerNorm, avx512, Isa::kAvx512)->Arg(192)->Arg(768);
