// The engine's kernels written once, against the small SIMD vocabulary of simd_scalar.h /
// x86/simd_avx2.h / x86/simd_avx512.h (Highway-style: one algorithm, one instantiation per ISA).
// Layer: vision/ops. PyTorch counterparts: see vision/ops/kernels.h.
//
// Include this header only from the per-ISA translation units (kernels_scalar.cpp,
// x86/kernels_*.cpp), after the SIMD header of that ISA. Everything here has internal linkage
// (anonymous namespace), so each ISA's copy stays in its own object file; and it deliberately uses
// nothing from std:: (see kernels_internal.h for why).
#pragma once

#include <cstdint>

#include "vision/ops/kernels.h"
#include "vision/ops/kernels_internal.h"

namespace rv::ops {
namespace {

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

// Full-width or masked (tail) load / store, chosen at compile time.
template <bool kTail, class D>
typename D::V ld(D d, const float* p, typename D::M m) {
    if constexpr (kTail)
        return load(d, p, m);
    else
        return load(d, p);
}
template <bool kTail, class D>
void st(D d, float* p, typename D::V x, typename D::M m) {
    if constexpr (kTail)
        store(d, p, x, m);
    else
        store(d, p, x);
}

// ---------------------------------------------------------------------------------------------
// Bi-WKV (spec §2.6), one block of D::kLanes channels starting at c; m marks the valid lanes.
//
// The O(T) recursion of the spec, with every sum relative to e^{kmax} (per channel), in three
// sweeps over the tokens (stride C), the state in registers:
//   1. kmax = max_t k_t.
//   2. backwards: ek_t = e^{k_t - kmax} (kept in y, which is free until it is written), the
//      future suffix sums Q/Qd, and per chunk: Q, Qd at its first token and the kernel's future
//      log-scale at its start (exp-domain, see below) -> `chunks` [n_chunks][3][lanes].
//   3. forwards: past prefix sums P/Pd, per chunk the spec's A/F walk, y_t = num / den.
//
// EPS as the reference (bi_wkv_ref.cpp): den += eps·e^{no - kmax}, no = max(o_future, u + k_t,
// o_past) of the kernel's running log-scales. Those only ever move by max(), ±w and ±w·S, so they
// are tracked as e^{o - kmax} with max() and products by e^{±w}, e^{-w·S}: no exp per token.
//   o_past at chunk m's start = max(o_past(m-1) - w·S, chunk_past(m-1)),
//     chunk_past(m) = max over its tokens j of k_j - w·(t1 - j)       (h below, forwards)
//   o_future at chunk m's start = max(chunk_future(m), o_future(m+1) - w·S),
//     chunk_future(m) = max over its tokens j of k_j - w·(j - t0)     (g below, backwards)
//   per token: o_past = max(o_past - w, k_t); o_future = max(o_future + w, k_{t+1} + w).
template <bool kTail, class D>
void bi_wkv_block(const BiWkvArgs& a, int64_t c, typename D::M m, int64_t S, int64_t n_chunks,
                  float* chunks) {
    using V = typename D::V;
    const D d;
    constexpr int64_t N = D::kLanes;
    const int64_t T = a.T, C = a.C;
    const float* k = a.k + c;
    const float* v = a.v + c;
    const float* gate = a.gate ? a.gate + c : nullptr;
    float* y = a.y + c;

    // Per-lane constants (benign 1s in lanes past the range: they are computed and never stored).
    alignas(64) float cE[N], cEi[N], ceu[N], cEiS[N];
    for (int64_t l = 0; l < N; ++l) {
        detail::BiWkvChannel ch{1.0f, 1.0f, 1.0f, 1.0f, true};
        if (!kTail || c + l < a.c1) ch = detail::bi_wkv_channel(a, c + l, S);
        cE[l] = ch.E;
        cEi[l] = ch.Ei;
        ceu[l] = ch.eu;
        cEiS[l] = ch.EiS;
    }
    const V E = load(d, cE), Ei = load(d, cEi), eu = load(d, ceu), EiS = load(d, cEiS);
    const V vzero = zero(d);

    // 1. kmax.
    V kmax = set1(d, -__builtin_inff());
    for (int64_t t = 0; t < T; ++t) kmax = max(ld<kTail>(d, k + t * C, m), kmax);

    // 2. Backwards. (ekn, vn) are token t+1's; zero past the end, so Q[T-1] = 0.
    {
        V Q = vzero, Qd = vzero, ekn = vzero, vn = vzero, fut_start = vzero;
        for (int64_t mi = n_chunks - 1; mi >= 0; --mi) {
            const int64_t t0 = mi * S, t1 = imin(t0 + S, T);
            V g = vzero;
            for (int64_t t = t1 - 1; t >= t0; --t) {
                Q = Ei * fma(ekn, vn, Q);  // Q_t = e^{-w}(Q_{t+1} + ek_{t+1} v_{t+1})
                Qd = Ei * (Qd + ekn);
                const V ek = exp(ld<kTail>(d, k + t * C, m) - kmax);
                st<kTail>(d, y + t * C, ek, m);
                g = max(ek, g * Ei);
                ekn = ek;
                vn = ld<kTail>(d, v + t * C, m);
            }
            fut_start = max(g, fut_start * EiS);
            float* slot = chunks + mi * 3 * N;
            store(d, slot, Q);
            store(d, slot + N, Qd);
            store(d, slot + 2 * N, fut_start);
        }
    }

    // 3. Forwards.
    const V eps = set1(d, a.params.eps);
    const bool with_eps = a.params.eps != 0.0f;
    V P = vzero, Pd = vzero, past_start = vzero, h = vzero;
    for (int64_t mi = 0; mi < n_chunks; ++mi) {
        const int64_t t0 = mi * S, t1 = imin(t0 + S, T);
        if (mi > 0) past_start = max(h, past_start * EiS);
        const float* slot = chunks + mi * 3 * N;
        V A = Ei * P, Ad = Ei * Pd;
        V F = load(d, slot), Fd = load(d, slot + N), fut = load(d, slot + 2 * N);
        V past = past_start;
        h = vzero;
        V ek = ld<kTail>(d, y + t0 * C, m), vt = ld<kTail>(d, v + t0 * C, m);
        for (int64_t t = t0; t < t1; ++t) {
            const V e = eu * ek;
            const V num = fma(e, vt, A + F);
            V den = (Ad + Fd) + e;
            if (with_eps) den = fma(eps, max(max(fut, e), past), den);
            V out = num / den;
            if (gate) out = out * ld<kTail>(d, gate + t * C, m);
            V ekn = vzero, vn = vzero;
            if (t + 1 < T) {
                ekn = ld<kTail>(d, y + (t + 1) * C, m);
                vn = ld<kTail>(d, v + (t + 1) * C, m);
            }
            st<kTail>(d, y + t * C, out, m);
            past = max(past * Ei, ek);
            fut = E * max(fut, ekn);
            const V ekv = ek * vt;
            A = fma(Ei, A, ekv);
            Ad = fma(Ei, Ad, ek);
            P = fma(Ei, P, ekv);
            Pd = fma(Ei, Pd, ek);
            h = Ei * max(h, ek);
            F = E * fnma(ekn, vn, F);  // the kernel's subtract-and-rescale (spec §2.6)
            Fd = E * (Fd - ekn);
            ek = ekn;
            vt = vn;
        }
    }
}

template <class D>
void bi_wkv(const BiWkvArgs& a) {
    constexpr int64_t N = D::kLanes;
    detail::check_bi_wkv_args(a);
    if (a.T <= 0 || a.c0 >= a.c1) return;
    const int64_t S = (a.T + a.params.token_split - 1) / a.params.token_split;  // ceil(T / TS)
    const int64_t n_chunks = (a.T + S - 1) / S;
    if (n_chunks > detail::kBiWkvMaxChunks) {
        detail::bi_wkv_reference_channels(a, a.c0, a.c1);
        return;
    }
    alignas(64) float chunks[detail::kBiWkvMaxChunks * 3 * N];
    const D d;
    int64_t c = a.c0;
    for (; c + N <= a.c1; c += N) bi_wkv_block<false, D>(a, c, first_n(d, N), S, n_chunks, chunks);
    if (c < a.c1) bi_wkv_block<true, D>(a, c, first_n(d, a.c1 - c), S, n_chunks, chunks);
    // Channels outside the fp32 range: overwrite with the fp64 reference (rare; it allocates).
    for (int64_t ch = a.c0; ch < a.c1; ++ch)
        if (!detail::bi_wkv_channel(a, ch, S).fast) detail::bi_wkv_reference_channels(a, ch, ch + 1);
}

// ---------------------------------------------------------------------------------------------
// Q-Shift + lerps. Each channel group reads one neighbour row (or zeros at the grid border); the
// output is x·mu + xs·(1 - mu) with the reference's rounding (two products, then the sum: the
// per-ISA sources are built with -ffp-contract=off), so it is bit-identical to ref::q_shift +
// ref::lerp_mix.
template <bool kTail, class D>
void shift_mix_span(const ShiftMixArgs& a, const float* xr, const float* src, int64_t r, int64_t c,
                    typename D::M m) {
    using V = typename D::V;
    const D d;
    const V x = ld<kTail>(d, xr + c, m);
    const V xs = src ? ld<kTail>(d, src + c, m) : zero(d);
    const V one = set1(d, 1.0f);
    for (int i = 0; i < a.n_out; ++i) {
        const V mu = ld<kTail>(d, a.mu[i] + c, m);
        st<kTail>(d, a.out[i] + r * a.C + c, x * mu + xs * (one - mu), m);
    }
}

template <class D>
void shift_mix(const ShiftMixArgs& a) {
    constexpr int64_t N = D::kLanes;
    const D d;
    const int64_t C = a.C, H = a.H, W = a.W;
    // int(C·k/4) in double, as ref::q_shift (and Python) evaluates it.
    int64_t bounds[6] = {0, 0, 0, 0, 0, C};
    for (int q = 1; q <= 4; ++q)
        bounds[q] = static_cast<int64_t>(static_cast<double>(C) * 0.25 * static_cast<double>(q));
    for (int64_t r = a.row0; r < a.row1; ++r) {
        const int64_t h = r / W, w = r % W;
        const float* xr = a.x + r * C;
        // Groups: left (w-1), right (w+1), up (h-1), down (h+1), identity.
        const float* src[5] = {w >= 1 ? xr - C : nullptr, w + 1 < W ? xr + C : nullptr,
                               h >= 1 ? xr - W * C : nullptr, h + 1 < H ? xr + W * C : nullptr, xr};
        for (int g = 0; g < 5; ++g) {
            int64_t c = bounds[g];
            const int64_t c1 = bounds[g + 1];
            for (; c + N <= c1; c += N) shift_mix_span<false, D>(a, xr, src[g], r, c, first_n(d, N));
            if (c < c1) shift_mix_span<true, D>(a, xr, src[g], r, c, first_n(d, c1 - c));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// LayerNorm: per row, a first mean m1 (fp32, kLanes partial sums), then in a second pass the
// corrected two-pass statistics of d = x - m1 (Chan, Golub & LeVeque): delta = Σd / C fixes the
// rounding of m1, var = Σd² / C - delta². The output uses (x - m1) - delta: x - m1 is exact when x
// is near the mean (Sterbenz), so a row with a large mean (|mean| ≫ std) keeps full precision
// although the mean itself is not representable to that precision in fp32.
template <bool kTail, class D>
void layer_norm_span(const LayerNormArgs& a, const float* xr, float* yr, const float* gr, int64_t c,
                     typename D::M m, typename D::V m1, typename D::V delta, typename D::V inv) {
    using V = typename D::V;
    const D d;
    V r = ((ld<kTail>(d, xr + c, m) - m1) - delta) * inv;
    if (a.weight) r = r * ld<kTail>(d, a.weight + c, m);
    if (a.bias) r = r + ld<kTail>(d, a.bias + c, m);
    if (gr) r = r * ld<kTail>(d, gr + c, m);
    if (a.accumulate) {
        if (a.gamma) r = r * ld<kTail>(d, a.gamma + c, m);
        r = ld<kTail>(d, yr + c, m) + r;
    }
    st<kTail>(d, yr + c, r, m);
}

template <class D>
void layer_norm(const LayerNormArgs& a) {
    using V = typename D::V;
    constexpr int64_t N = D::kLanes;
    const D d;
    const int64_t C = a.C;
    if (C <= 0) return;
    const int64_t body = C - C % N;
    const auto tail = first_n(d, C - body);
    const float inv_c = 1.0f / static_cast<float>(C);
    for (int64_t row = a.row0; row < a.row1; ++row) {
        const float* xr = a.x + row * C;
        float* yr = a.y + row * C;
        const float* gr = a.gate ? a.gate + row * C : nullptr;
        V s = zero(d);
        for (int64_t c = 0; c < body; c += N) s = s + load(d, xr + c);
        if (body < C) s = s + load(d, xr + body, tail);
        const V m1 = set1(d, reduce_add(s) * inv_c);
        V s1 = zero(d), s2 = zero(d);
        for (int64_t c = 0; c < body; c += N) {
            const V x = load(d, xr + c) - m1;
            s1 = s1 + x;
            s2 = fma(x, x, s2);
        }
        if (body < C) {
            // Lanes past C load 0, which is not 0 after subtracting m1: keep valid lanes only.
            const V x = keep(d, load(d, xr + body, tail) - m1, tail);
            s1 = s1 + x;
            s2 = fma(x, x, s2);
        }
        const float delta = reduce_add(s1) * inv_c;
        float var = reduce_add(s2) * inv_c - delta * delta;
        var = var > 0.0f ? var : 0.0f;
        const V inv = set1(d, 1.0f / __builtin_sqrtf(var + a.eps));
        const V vdelta = set1(d, delta);
        int64_t c = 0;
        for (; c < body; c += N) layer_norm_span<false, D>(a, xr, yr, gr, c, first_n(d, N), m1, vdelta, inv);
        if (c < C) layer_norm_span<true, D>(a, xr, yr, gr, c, tail, m1, vdelta, inv);
    }
}

// ---------------------------------------------------------------------------------------------
template <class D>
void mean_tokens(const float* x, int64_t T, int64_t C, int64_t c0, int64_t c1, float* out) {
    using V = typename D::V;
    constexpr int64_t N = D::kLanes;
    const D d;
    const V count = set1(d, static_cast<float>(T));
    auto span = [&]<bool kTail>(int64_t c, typename D::M m) {
        V s = zero(d);
        for (int64_t t = 0; t < T; ++t) s = s + ld<kTail>(d, x + t * C + c, m);
        st<kTail>(d, out + c, s / count, m);
    };
    int64_t c = c0;
    for (; c + N <= c1; c += N) span.template operator()<false>(c, first_n(d, N));
    if (c < c1) span.template operator()<true>(c, first_n(d, c1 - c));
}

template <class D>
void add_scaled(const float* x, const float* s, float* y, int64_t C, int64_t row0, int64_t row1) {
    using V = typename D::V;
    constexpr int64_t N = D::kLanes;
    const D d;
    auto span = [&]<bool kTail>(int64_t i, int64_t c, typename D::M m) {
        V xv = ld<kTail>(d, x + i, m);
        if (s) xv = xv * ld<kTail>(d, s + c, m);  // the product rounded, then the sum (as PyTorch)
        st<kTail>(d, y + i, ld<kTail>(d, y + i, m) + xv, m);
    };
    for (int64_t r = row0; r < row1; ++r) {
        int64_t c = 0;
        for (; c + N <= C; c += N) span.template operator()<false>(r * C + c, c, first_n(d, N));
        if (c < C) span.template operator()<true>(r * C + c, c, first_n(d, C - c));
    }
}

template <class D>
constexpr KernelTable make_table(Isa isa) {
    KernelTable t;
    t.isa = isa;
    t.bi_wkv = &bi_wkv<D>;
    t.shift_mix = &shift_mix<D>;
    t.layer_norm = &layer_norm<D>;
    t.mean_tokens = &mean_tokens<D>;
    t.add_scaled = &add_scaled<D>;
    return t;
}

}  // namespace
}  // namespace rv::ops
