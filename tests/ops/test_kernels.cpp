// Every ISA level of the engine's kernels (vision/ops/kernels.h) that this CPU can run, against the
// references in vision/ops/ref, on awkward sizes: channel counts that are not multiples of any lane
// width, T = 1 and T below token_split, channel and row sub-ranges that split a vector, huge keys,
// and decays outside the fp32 range (the fp64 fallback). Also the ISA parsing and caps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "vision/core/cpu_features.h"
#include "vision/core/error.h"
#include "vision/ops/kernels.h"
#include "vision/ops/ref/bi_wkv_ref.h"
#include "vision/ops/ref/linear_ref.h"
#include "vision/ops/ref/shift_ref.h"

namespace rv::test {
namespace {

using ops::KernelTable;

std::vector<Isa> levels() {
    std::vector<Isa> out;
    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512})
        if (static_cast<int>(isa) <= static_cast<int>(detected_isa())) out.push_back(isa);
    return out;
}

std::vector<float> uniform(std::mt19937& rng, size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> U(lo, hi);
    std::vector<float> x(n);
    for (auto& e : x) e = U(rng);
    return x;
}

// ------------------------------------------------------------------------------------------------
// ISA levels

TEST(CpuFeatures, ParseIsa) {
    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) EXPECT_EQ(parse_isa(isa_name(isa)), isa);
    EXPECT_STREQ(isa_name(Isa::kAvx512), "avx512");
    for (const char* bad : {"", "AVX2", "avx", "avx512bf16", "sse4"}) {
        try {
            parse_isa(bad);
            ADD_FAILURE() << "parse_isa accepted '" << bad << "'";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
            const std::string msg = e.what();
            EXPECT_NE(msg.find(std::string("'") + bad + "'"), std::string::npos) << msg;
            EXPECT_NE(msg.find("scalar, avx2, avx512"), std::string::npos) << msg;
        }
    }
}

TEST(CpuFeatures, DetectionIsConsistent) {
    EXPECT_LE(static_cast<int>(active_isa()), static_cast<int>(detected_isa()));
    EXPECT_FALSE(cpu_model_name().empty());
    (void)cpu_has_bf16();  // must not crash; the answer depends on the machine
}

TEST(Kernels, ObeysSetMaxIsa) {
    const Isa before = active_isa();  // RV_MAX_ISA (if set) already applies here
    set_max_isa(Isa::kScalar);
    EXPECT_EQ(active_isa(), Isa::kScalar);
    EXPECT_EQ(ops::kernels().isa, Isa::kScalar);
    set_max_isa(Isa::kAvx2);
    const Isa want = static_cast<int>(before) < 1 ? before : Isa::kAvx2;
    EXPECT_EQ(ops::kernels().isa, want);
    set_max_isa(Isa::kAvx512);  // no cap
    EXPECT_EQ(ops::kernels().isa, before);
    for (Isa isa : levels()) EXPECT_EQ(ops::kernels_for(isa).isa, isa);
    if (detected_isa() != Isa::kAvx512) {
        try {
            ops::kernels_for(Isa::kAvx512);
            ADD_FAILURE() << "kernels_for(avx512) on a CPU without AVX-512";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Bi-WKV

struct WkvCase {
    int64_t T = 1, C = 1;
    int token_split = 32;
    float eps = 1e-6f;
    bool gate = false;
    std::vector<float> decay, first, k, v, g;
};

// Reference: ref::bi_wkv (fp64), then the gate in fp32 (as the kernel's contract: y = gate ⊙ wkv).
std::vector<float> reference(const WkvCase& w) {
    std::vector<float> y(static_cast<size_t>(w.T * w.C));
    ops::ref::bi_wkv(w.decay.data(), w.first.data(), w.k.data(), w.v.data(), y.data(), 1, w.T, w.C,
                     {w.token_split, w.eps});
    if (w.gate)
        for (size_t i = 0; i < y.size(); ++i) y[i] *= w.g[i];
    return y;
}

ops::BiWkvArgs args(const WkvCase& w, float* y, int64_t c0, int64_t c1) {
    ops::BiWkvArgs a;
    a.decay = w.decay.data();
    a.first = w.first.data();
    a.k = w.k.data();
    a.v = w.v.data();
    a.gate = w.gate ? w.g.data() : nullptr;
    a.y = y;
    a.T = w.T;
    a.C = w.C;
    a.c0 = c0;
    a.c1 = c1;
    a.params = {w.token_split, w.eps};
    return a;
}

// Largest |got - ref| over [T, c0..c1), relative to the channel's max |v| (y is a weighted mean of
// the v's, times a gate in (0, 1)).
double wkv_error(const WkvCase& w, const std::vector<float>& got, const std::vector<float>& ref, int64_t c0,
                 int64_t c1) {
    double worst = 0.0;
    for (int64_t c = c0; c < c1; ++c) {
        double vmax = 1e-30;
        for (int64_t t = 0; t < w.T; ++t)
            vmax = std::max(vmax, static_cast<double>(std::fabs(w.v[static_cast<size_t>(t * w.C + c)])));
        for (int64_t t = 0; t < w.T; ++t) {
            const auto i = static_cast<size_t>(t * w.C + c);
            const double e = std::fabs(static_cast<double>(got[i]) - static_cast<double>(ref[i])) / vmax;
            if (!(e <= 1e30)) return INFINITY;  // NaN / Inf
            worst = std::max(worst, e);
        }
    }
    return worst;
}

WkvCase make_case(std::mt19937& rng, int64_t T, int64_t C, int ts, float eps, bool gate, float kspread,
                  float decay_max) {
    WkvCase w;
    w.T = T;
    w.C = C;
    w.token_split = ts;
    w.eps = eps;
    w.gate = gate;
    const auto n = static_cast<size_t>(T * C);
    w.decay = uniform(rng, static_cast<size_t>(C), -decay_max, decay_max);
    w.first = uniform(rng, static_cast<size_t>(C), -5.0f, 5.0f);
    w.k = uniform(rng, n, -kspread, kspread);
    w.v = uniform(rng, n, -1.0f, 1.0f);
    w.g = uniform(rng, n, 0.0f, 1.0f);
    return w;
}

// fp32 against fp64: e^{k-kmax} and the recursions carry a few ulp each; the future sum is built
// by subtracting tokens from a chunk's total (spec §2.6), which loses up to e^{|w|·S} (≤ e^{0.6}
// for |decay| ≤ 8, token_split ≥ 16) of relative precision; the largest error seen over all the
// cases below is about 1e-6 of max|v|. 4e-6 leaves room for other compilers' rounding.
constexpr double kWkvTol = 4e-6;
double g_wkv_worst[3] = {0, 0, 0};

void check_wkv(const WkvCase& w, Isa isa, const std::string& what, double tol = kWkvTol) {
    const auto ref = reference(w);
    std::vector<float> got(ref.size(), 0.0f);
    const auto a = args(w, got.data(), 0, w.C);
    ops::kernels_for(isa).bi_wkv(a);
    const double err = wkv_error(w, got, ref, 0, w.C);
    g_wkv_worst[static_cast<int>(isa)] = std::max(g_wkv_worst[static_cast<int>(isa)], err);
    EXPECT_LE(err, tol) << what << " isa=" << isa_name(isa);
}

TEST(BiWkvKernel, MatchesReferenceOnAwkwardSizes) {
    std::mt19937 rng(11);
    int n = 0;
    for (int64_t C : {1, 3, 7, 16, 17, 33, 197})
        for (int64_t T : {1, 2, 5, 31, 33, 196, 577, 1025})
            for (int ts : {16, 32})
                for (float eps : {0.0f, 1e-6f}) {
                    const bool gate = (n++ % 2) == 1;
                    const auto w = make_case(rng, T, C, ts, eps, gate, 3.0f, 8.0f);
                    for (Isa isa : levels())
                        check_wkv(w, isa,
                                  "T=" + std::to_string(T) + " C=" + std::to_string(C) +
                                      " ts=" + std::to_string(ts) + " eps=" + std::to_string(eps) +
                                      " gate=" + std::to_string(gate));
                }
    for (Isa isa : levels())
        std::printf("[ bi_wkv  ] %-6s max error %.3g of max|v| (decay in [-8, 8])\n", isa_name(isa),
                    g_wkv_worst[static_cast<int>(isa)]);
}

TEST(BiWkvKernel, StableForHugeKeys) {
    std::mt19937 rng(12);
    for (int64_t T : {1, 5, 33, 196, 577}) {
        for (float spread : {200.0f, 60.0f}) {
            auto w = make_case(rng, T, 19, 32, 1e-6f, true, spread, 8.0f);
            // Channel 0: all keys +200; channel 1: all -200; channel 2: one huge key among small ones.
            for (int64_t t = 0; t < T; ++t) {
                w.k[static_cast<size_t>(t * w.C + 0)] = 200.0f;
                w.k[static_cast<size_t>(t * w.C + 1)] = -200.0f;
                w.k[static_cast<size_t>(t * w.C + 2)] = t == T / 2 ? 200.0f : -1.0f;
            }
            for (Isa isa : levels())
                check_wkv(w, isa, "huge k, T=" + std::to_string(T) + " spread=" + std::to_string(spread));
        }
    }
}

// Channels outside the fp32 range (|spatial_decay| or |spatial_first / T| > 32) take the fp64
// reference, in the same vector block as ordinary channels: those must be exact (same code).
TEST(BiWkvKernel, ExtremeDecayFallsBackToReference) {
    std::mt19937 rng(13);
    for (int64_t T : {1, 2, 33, 196}) {
        auto w = make_case(rng, T, 37, 16, 1e-6f, true, 3.0f, 8.0f);
        const int64_t extreme[] = {0, 5, 16, 17, 36};
        for (int64_t c : extreme) w.decay[static_cast<size_t>(c)] = (c % 2 ? -200.0f : 200.0f);
        w.first[3] = 400.0f * static_cast<float>(T);  // u = 400: e^u overflows fp32
        const auto ref = reference(w);
        for (Isa isa : levels()) {
            std::vector<float> got(ref.size(), 0.0f);
            ops::kernels_for(isa).bi_wkv(args(w, got.data(), 0, w.C));
            for (int64_t c : {int64_t{0}, int64_t{3}, int64_t{5}, int64_t{16}, int64_t{17}, int64_t{36}})
                for (int64_t t = 0; t < T; ++t) {
                    const auto i = static_cast<size_t>(t * w.C + c);
                    EXPECT_EQ(got[i], ref[i])
                        << "T=" << T << " c=" << c << " t=" << t << " " << isa_name(isa);
                }
            EXPECT_LE(wkv_error(w, got, ref, 0, w.C), kWkvTol) << "T=" << T << " " << isa_name(isa);
        }
    }
}

// Large decays (|spatial_decay| up to 32): the fp32 path where the kernel's arithmetic is well
// conditioned (w·S ≤ 1 or w < 0 or S = 1), the fp64 reference elsewhere (kernels_internal.h); the
// error bound is the same as for realistic decays.
TEST(BiWkvKernel, LargeDecay) {
    std::mt19937 rng(14);
    double worst = 0.0;
    for (int64_t T : {1, 2, 5, 17, 33, 65, 196, 577})
        for (int ts : {16, 32}) {
            const auto w = make_case(rng, T, 17, ts, 1e-6f, false, 3.0f, 32.0f);
            const auto ref = reference(w);
            for (Isa isa : levels()) {
                std::vector<float> got(ref.size(), 0.0f);
                ops::kernels_for(isa).bi_wkv(args(w, got.data(), 0, w.C));
                const double err = wkv_error(w, got, ref, 0, w.C);
                worst = std::max(worst, err);
                EXPECT_LE(err, kWkvTol) << "T=" << T << " ts=" << ts << " " << isa_name(isa);
            }
        }
    std::printf("[ bi_wkv  ] max error %.3g of max|v| (decay in [-32, 32])\n", worst);
}

// Sub-ranges that split vectors: only [c0, c1) is written, and every channel's result is bitwise
// the same as in one call over all channels (results do not depend on how work is split).
TEST(BiWkvKernel, ChannelSubRanges) {
    std::mt19937 rng(15);
    for (int64_t T : {1, 7, 196}) {
        const auto w = make_case(rng, T, 45, 32, 1e-6f, true, 3.0f, 8.0f);
        const auto ref = reference(w);
        for (Isa isa : levels()) {
            const auto& kt = ops::kernels_for(isa);
            std::vector<float> full(ref.size(), 0.0f);
            kt.bi_wkv(args(w, full.data(), 0, w.C));
            std::vector<float> split(ref.size(), 7.0f);
            const int64_t cuts[] = {0, 3, 5, 21, 22, 40, 45};
            for (size_t i = 0; i + 1 < std::size(cuts); ++i) {
                const int64_t c0 = cuts[i], c1 = cuts[i + 1];
                kt.bi_wkv(args(w, split.data(), c0, c1));
                for (int64_t t = 0; t < T; ++t)
                    for (int64_t c = c1; c < w.C; ++c)
                        ASSERT_EQ(split[static_cast<size_t>(t * w.C + c)], 7.0f)
                            << "wrote outside [" << c0 << ", " << c1 << ") at c=" << c << " "
                            << isa_name(isa);
            }
            EXPECT_EQ(split, full) << isa_name(isa);
            EXPECT_LE(wkv_error(w, full, ref, 0, w.C), kWkvTol) << isa_name(isa);
        }
    }
}

// More chunks than the fp32 kernel keeps on its stack (token_split > 128, no published model):
// the whole range goes through the fp64 reference.
TEST(BiWkvKernel, ManyChunksUseReference) {
    std::mt19937 rng(17);
    const auto w = make_case(rng, 300, 9, 200, 1e-6f, true, 3.0f, 8.0f);  // S = 2, 150 chunks
    const auto ref = reference(w);
    for (Isa isa : levels()) {
        std::vector<float> got(ref.size(), 0.0f);
        ops::kernels_for(isa).bi_wkv(args(w, got.data(), 0, w.C));
        EXPECT_EQ(got, ref) << isa_name(isa);
    }
}

TEST(BiWkvKernel, EmptyRangesAndBadArguments) {
    std::mt19937 rng(16);
    const auto w = make_case(rng, 4, 5, 32, 1e-6f, false, 1.0f, 1.0f);
    std::vector<float> y(20, 3.0f);
    for (Isa isa : levels()) {
        const auto& kt = ops::kernels_for(isa);
        kt.bi_wkv(args(w, y.data(), 2, 2));  // empty range: nothing written
        EXPECT_EQ(y, std::vector<float>(20, 3.0f));
        auto a = args(w, y.data(), 0, 6);  // c1 > C
        EXPECT_THROW(kt.bi_wkv(a), Error);
        a = args(w, y.data(), 0, 5);
        a.params.token_split = 0;
        EXPECT_THROW(kt.bi_wkv(a), Error);
    }
}

// ------------------------------------------------------------------------------------------------
// Q-Shift + lerps: bit-identical to ref::q_shift + ref::lerp_mix (same roundings, no FMA).

TEST(ShiftMixKernel, MatchesReferenceExactly) {
    std::mt19937 rng(21);
    const int64_t grids[][2] = {{1, 1}, {1, 5}, {4, 1}, {3, 4}, {14, 14}};
    for (const auto& hw : grids)
        for (int64_t C : {1, 3, 4, 7, 16, 17, 33, 197}) {
            const int64_t H = hw[0], W = hw[1], T = H * W;
            const auto n = static_cast<size_t>(T * C);
            const auto x = uniform(rng, n, -2.0f, 2.0f);
            std::vector<float> mu[3], want[3];
            std::vector<float> xs(n);
            ops::ref::q_shift(x.data(), xs.data(), 1, H, W, C);
            for (int i = 0; i < 3; ++i) {
                mu[i] = uniform(rng, static_cast<size_t>(C), -0.5f, 1.5f);
                want[i].resize(n);
                ops::ref::lerp_mix(x.data(), xs.data(), mu[i].data(), want[i].data(), T, C);
            }
            for (Isa isa : levels())
                for (int n_out = 1; n_out <= 3; ++n_out) {
                    std::vector<float> got[3];
                    ops::ShiftMixArgs a;
                    a.x = x.data();
                    a.H = H;
                    a.W = W;
                    a.C = C;
                    a.n_out = n_out;
                    for (int i = 0; i < n_out; ++i) {
                        got[i].assign(n, -9.0f);
                        a.mu[i] = mu[i].data();
                        a.out[i] = got[i].data();
                    }
                    // Two row ranges, the first ending mid-grid-row; a third empty one.
                    const int64_t mid = T / 2 + (T > 2 ? 1 : 0);
                    const std::pair<int64_t, int64_t> ranges[] = {{0, mid}, {mid, mid}, {mid, T}};
                    for (const auto& r : ranges) {
                        a.row0 = r.first;
                        a.row1 = r.second;
                        ops::kernels_for(isa).shift_mix(a);
                        if (&r == &ranges[0]) {
                            for (int i = 0; i < n_out; ++i)
                                for (size_t j = static_cast<size_t>(mid * C); j < n; ++j)
                                    ASSERT_EQ(got[i][j], -9.0f) << "wrote past row " << mid;
                        }
                    }
                    for (int i = 0; i < n_out; ++i)
                        EXPECT_EQ(got[i], want[i]) << "H=" << H << " W=" << W << " C=" << C << " out " << i
                                                   << " of " << n_out << " " << isa_name(isa);
                }
        }
}

// ------------------------------------------------------------------------------------------------
// LayerNorm and its variants against ref::layer_norm (fp64 statistics) + the variant in fp32.

enum class LnVariant {
    kPlain,
    kNoAffine,
    kInPlace,
    kGate,
    kAccumulate,
    kAccumulateGamma,
    kGateAccumulateGamma
};

TEST(LayerNormKernel, MatchesReferenceAllVariants) {
    std::mt19937 rng(31);
    double worst[3] = {0, 0, 0};
    for (int64_t C : {1, 3, 7, 16, 17, 33, 197, 768})
        for (LnVariant var :
             {LnVariant::kPlain, LnVariant::kNoAffine, LnVariant::kInPlace, LnVariant::kGate,
              LnVariant::kAccumulate, LnVariant::kAccumulateGamma, LnVariant::kGateAccumulateGamma}) {
            const int64_t rows = 6;
            const auto n = static_cast<size_t>(rows * C);
            auto x = uniform(rng, n, -3.0f, 3.0f);
            // Rows 4 and 5 have a large mean: the two-pass variance must not cancel.
            for (int64_t c = 0; c < C; ++c) {
                x[static_cast<size_t>(4 * C + c)] += 300.0f;
                x[static_cast<size_t>(5 * C + c)] = -1000.0f + 0.1f * x[static_cast<size_t>(5 * C + c)];
            }
            const auto weight = uniform(rng, static_cast<size_t>(C), 0.5f, 1.5f);
            const auto bias = uniform(rng, static_cast<size_t>(C), -0.5f, 0.5f);
            const auto gate = uniform(rng, n, 0.0f, 1.0f);
            const auto gamma = uniform(rng, static_cast<size_t>(C), -0.3f, 0.3f);
            const auto stream = uniform(rng, n, -5.0f, 5.0f);
            const bool affine = var != LnVariant::kNoAffine;
            const bool with_gate = var == LnVariant::kGate || var == LnVariant::kGateAccumulateGamma;
            const bool acc = var == LnVariant::kAccumulate || var == LnVariant::kAccumulateGamma ||
                             var == LnVariant::kGateAccumulateGamma;
            const bool with_gamma =
                var == LnVariant::kAccumulateGamma || var == LnVariant::kGateAccumulateGamma;

            std::vector<float> ln(n);
            ops::ref::layer_norm(x.data(), affine ? weight.data() : nullptr, affine ? bias.data() : nullptr,
                                 ln.data(), rows, C, 1e-5f);
            std::vector<float> want(n);
            for (size_t i = 0; i < n; ++i) {
                float r = ln[i];
                if (with_gate) r *= gate[i];
                if (with_gamma) r *= gamma[i % static_cast<size_t>(C)];
                want[i] = acc ? stream[i] + r : r;
            }
            for (Isa isa : levels()) {
                std::vector<float> buf =
                    var == LnVariant::kInPlace ? x : (acc ? stream : std::vector<float>(n, 0));
                std::vector<float> xin = x;
                ops::LayerNormArgs a;
                a.x = var == LnVariant::kInPlace ? buf.data() : xin.data();
                a.weight = affine ? weight.data() : nullptr;
                a.bias = affine ? bias.data() : nullptr;
                a.eps = 1e-5f;
                a.gate = with_gate ? gate.data() : nullptr;
                a.gamma = with_gamma ? gamma.data() : nullptr;
                a.accumulate = acc;
                a.y = buf.data();
                a.C = C;
                // Rows in two calls, the second starting mid-way.
                a.row0 = 0;
                a.row1 = 2;
                ops::kernels_for(isa).layer_norm(a);
                a.row0 = 2;
                a.row1 = rows;
                ops::kernels_for(isa).layer_norm(a);
                // fp32 statistics (corrected two-pass) against fp64: a few ulp of the output; the worst
                // seen is 1.2e-6 (scalar: one running sum per row), 4.5e-7 (AVX2).
                double err = 0.0;
                for (size_t i = 0; i < n; ++i) {
                    const double scale = 1.0 + std::fabs(static_cast<double>(want[i]));
                    const double e =
                        std::fabs(static_cast<double>(buf[i]) - static_cast<double>(want[i])) / scale;
                    if (!(e <= err)) err = e;  // NaN too
                }
                worst[static_cast<int>(isa)] = std::max(worst[static_cast<int>(isa)], err);
                EXPECT_LE(err, 5e-6) << "C=" << C << " variant=" << static_cast<int>(var) << " "
                                     << isa_name(isa);
            }
        }
    for (Isa isa : levels())
        std::printf("[ layer_norm ] %-6s max error %.3g (relative to 1 + |y|)\n", isa_name(isa),
                    worst[static_cast<int>(isa)]);
}

// ------------------------------------------------------------------------------------------------
// mean_tokens, add_scaled

TEST(MeanTokensKernel, MatchesDoubleMean) {
    std::mt19937 rng(41);
    for (int64_t T : {1, 5, 196, 577})
        for (int64_t C : {1, 7, 17, 197}) {
            const auto x = uniform(rng, static_cast<size_t>(T * C), -2.0f, 3.0f);
            std::vector<double> want(static_cast<size_t>(C), 0.0);
            for (int64_t t = 0; t < T; ++t)
                for (int64_t c = 0; c < C; ++c)
                    want[static_cast<size_t>(c)] += static_cast<double>(x[static_cast<size_t>(t * C + c)]);
            for (auto& e : want) e /= static_cast<double>(T);
            for (Isa isa : levels()) {
                std::vector<float> out(static_cast<size_t>(C), -7.0f);
                const int64_t mid = C / 2 + 1 > C ? C : C / 2 + 1;
                ops::kernels_for(isa).mean_tokens(x.data(), T, C, mid, C, out.data());
                for (int64_t c = 0; c < mid; ++c) ASSERT_EQ(out[static_cast<size_t>(c)], -7.0f);
                ops::kernels_for(isa).mean_tokens(x.data(), T, C, 0, mid, out.data());
                // fp32 running sums of T values of magnitude ≤ 3: ≤ T·ulp(3T) absolute, / T.
                const double tol =
                    4e-7 * static_cast<double>(T) * 3.0 / std::sqrt(static_cast<double>(T)) + 1e-7;
                for (int64_t c = 0; c < C; ++c)
                    EXPECT_NEAR(out[static_cast<size_t>(c)], want[static_cast<size_t>(c)], tol)
                        << "T=" << T << " C=" << C << " c=" << c << " " << isa_name(isa);
            }
        }
}

TEST(AddScaledKernel, MatchesFloatExpressionExactly) {
    std::mt19937 rng(51);
    for (int64_t C : {1, 3, 7, 16, 17, 33, 197})
        for (bool with_s : {false, true}) {
            const int64_t rows = 5;
            const auto n = static_cast<size_t>(rows * C);
            const auto x = uniform(rng, n, -2.0f, 2.0f);
            const auto s = uniform(rng, static_cast<size_t>(C), -1.0f, 1.0f);
            const auto y0 = uniform(rng, n, -2.0f, 2.0f);
            std::vector<float> want = y0;
            for (int64_t r = 1; r < 4; ++r)  // rows [1, 4) only
                for (int64_t c = 0; c < C; ++c) {
                    const auto i = static_cast<size_t>(r * C + c);
                    const float prod = with_s ? s[static_cast<size_t>(c)] * x[i] : x[i];
                    want[i] = y0[i] + prod;
                }
            for (Isa isa : levels()) {
                std::vector<float> y = y0;
                ops::kernels_for(isa).add_scaled(x.data(), with_s ? s.data() : nullptr, y.data(), C, 1, 4);
                EXPECT_EQ(y, want) << "C=" << C << " s=" << with_s << " " << isa_name(isa);
            }
        }
}

}  // namespace
}  // namespace rv::test
