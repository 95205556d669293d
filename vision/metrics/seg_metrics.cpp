// Dice / HD95 and the exact Euclidean distance transform (see seg_metrics.h).
// Layer: vision/metrics. PyTorch counterpart: medpy.metric.binary, scipy.ndimage.
#include "vision/metrics/seg_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "vision/core/error.h"

namespace rv::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

size_t idx(const Size3& s, int64_t i, int64_t j, int64_t k) {
    return static_cast<size_t>(i + s[0] * (j + s[1] * k));
}

// One line of the transform: d[p] = min_q ((p - q)·h)² + f[q] over the lower envelope of the
// parabolas rooted at the finite f[q]. v, z, d: scratch of n, n + 1 and n entries.
void edt_line(double* f, int64_t n, int64_t stride, double h, std::vector<int64_t>& v, std::vector<double>& z,
              std::vector<double>& d) {
    int64_t k = -1;
    for (int64_t q = 0; q < n; ++q) {
        const double fq = f[q * stride];
        if (fq == kInf) continue;
        const double xq = static_cast<double>(q) * h;
        while (k >= 0) {
            const int64_t r = v[static_cast<size_t>(k)];
            const double xr = static_cast<double>(r) * h;
            const double s = ((fq + xq * xq) - (f[r * stride] + xr * xr)) / (2.0 * (xq - xr));
            if (s > z[static_cast<size_t>(k)]) {
                ++k;
                v[static_cast<size_t>(k)] = q;
                z[static_cast<size_t>(k)] = s;
                z[static_cast<size_t>(k) + 1] = kInf;
                break;
            }
            --k;  // the parabola at r is hidden by the one at q
        }
        if (k < 0) {
            k = 0;
            v[0] = q;
            z[0] = -kInf;
            z[1] = kInf;
        }
    }
    if (k < 0) return;  // no feature on this line: everything stays infinite
    int64_t j = 0;
    for (int64_t p = 0; p < n; ++p) {
        const double xp = static_cast<double>(p) * h;
        while (z[static_cast<size_t>(j) + 1] < xp) ++j;
        const int64_t r = v[static_cast<size_t>(j)];
        const double dx = static_cast<double>(p - r) * h;
        d[static_cast<size_t>(p)] = dx * dx + f[r * stride];
    }
    for (int64_t p = 0; p < n; ++p) f[p * stride] = d[static_cast<size_t>(p)];
}

struct Box {
    Size3 lo{0, 0, 0}, hi{0, 0, 0};  // hi exclusive
    bool empty = true;
};

// Bounding box of the voxels set in a or b, grown by one voxel and clipped to the volume: cropping
// to it changes neither the erosion (the grown ring is background in both) nor any distance.
Box union_box(const uint8_t* a, const uint8_t* b, const Size3& s) {
    Box box;
    box.lo = s;
    for (int64_t k = 0; k < s[2]; ++k)
        for (int64_t j = 0; j < s[1]; ++j)
            for (int64_t i = 0; i < s[0]; ++i) {
                const size_t p = idx(s, i, j, k);
                if (!a[p] && !b[p]) continue;
                box.empty = false;
                const int64_t c[3] = {i, j, k};
                for (size_t x = 0; x < 3; ++x) {
                    box.lo[x] = std::min(box.lo[x], c[x]);
                    box.hi[x] = std::max(box.hi[x], c[x] + 1);
                }
            }
    for (size_t x = 0; x < 3; ++x) {
        box.lo[x] = std::max<int64_t>(box.lo[x] - 1, 0);
        box.hi[x] = std::min<int64_t>(box.hi[x] + 1, s[x]);
    }
    return box;
}

std::vector<uint8_t> crop(const uint8_t* m, const Size3& s, const Box& box, Size3& cs) {
    for (size_t x = 0; x < 3; ++x) cs[x] = box.hi[x] - box.lo[x];
    std::vector<uint8_t> out(static_cast<size_t>(cs[0] * cs[1] * cs[2]));
    size_t o = 0;
    for (int64_t k = box.lo[2]; k < box.hi[2]; ++k)
        for (int64_t j = box.lo[1]; j < box.hi[1]; ++j)
            for (int64_t i = box.lo[0]; i < box.hi[0]; ++i) out[o++] = m[idx(s, i, j, k)] ? 1 : 0;
    return out;
}

// Distances from the surface voxels of a to the surface of b, in an already cropped volume.
void directed(const std::vector<uint8_t>& surf_a, const std::vector<uint8_t>& surf_b, const Size3& s,
              const Spacing3& spacing, std::vector<double>& out) {
    const std::vector<double> dt = edt_squared(surf_b.data(), s, spacing);
    for (size_t p = 0; p < surf_a.size(); ++p)
        if (surf_a[p]) out.push_back(std::sqrt(dt[p]));
}

int64_t count(const uint8_t* m, const Size3& s) {
    int64_t n = 0;
    const int64_t total = s[0] * s[1] * s[2];
    for (int64_t p = 0; p < total; ++p) n += m[p] ? 1 : 0;
    return n;
}

}  // namespace

std::vector<double> edt_squared(const uint8_t* feature, const Size3& size, const Spacing3& spacing) {
    const int64_t total = size[0] * size[1] * size[2];
    std::vector<double> f(static_cast<size_t>(total));
    for (int64_t p = 0; p < total; ++p) f[static_cast<size_t>(p)] = feature[p] ? 0.0 : kInf;
    const int64_t longest = std::max({size[0], size[1], size[2]});
    std::vector<int64_t> v(static_cast<size_t>(longest));
    std::vector<double> z(static_cast<size_t>(longest) + 1), d(static_cast<size_t>(longest));
    const Size3 stride{1, size[0], size[0] * size[1]};
    for (size_t axis = 0; axis < 3; ++axis) {
        if (size[axis] == 1) continue;
        // Every line along `axis`: its start runs over the other two axes.
        const size_t a1 = axis == 0 ? 1 : 0, a2 = axis == 2 ? 1 : 2;
        for (int64_t y = 0; y < size[a2]; ++y)
            for (int64_t x = 0; x < size[a1]; ++x)
                edt_line(f.data() + x * stride[a1] + y * stride[a2], size[axis], stride[axis], spacing[axis],
                         v, z, d);
    }
    return f;
}

std::vector<uint8_t> mask_surface(const uint8_t* mask, const Size3& s) {
    std::vector<uint8_t> out(static_cast<size_t>(s[0] * s[1] * s[2]), 0);
    for (int64_t k = 0; k < s[2]; ++k)
        for (int64_t j = 0; j < s[1]; ++j)
            for (int64_t i = 0; i < s[0]; ++i) {
                const size_t p = idx(s, i, j, k);
                if (!mask[p]) continue;
                // Eroded away when a 6-neighbour is background or outside the volume. An axis of
                // length 1 is not an axis (a 2-D mask erodes in-plane, as medpy on a 2-D array).
                bool interior = true;
                const int64_t c[3] = {i, j, k};
                for (size_t x = 0; x < 3 && interior; ++x) {
                    if (s[x] == 1) continue;
                    const int64_t st = x == 0 ? 1 : (x == 1 ? s[0] : s[0] * s[1]);
                    interior = c[x] > 0 && c[x] < s[x] - 1 && mask[static_cast<int64_t>(p) - st] &&
                               mask[static_cast<int64_t>(p) + st];
                }
                out[p] = interior ? 0 : 1;
            }
    return out;
}

std::vector<double> surface_distances(const uint8_t* a, const uint8_t* b, const Size3& size,
                                      const Spacing3& spacing) {
    RV_CHECK(count(a, size) > 0 && count(b, size) > 0, ErrorCode::kInvalidArgument,
             "surface distances need two non-empty masks");
    const Box box = union_box(a, b, size);
    Size3 cs;
    const auto ca = crop(a, size, box, cs), cb = crop(b, size, box, cs);
    std::vector<double> out;
    directed(mask_surface(ca.data(), cs), mask_surface(cb.data(), cs), cs, spacing, out);
    return out;
}

double percentile_linear(std::vector<double>& values, double q) {
    RV_CHECK(!values.empty(), ErrorCode::kInvalidArgument, "percentile of no values");
    // numpy 1.22+ 'linear': virtual index n·q + (1 − q) − 1, written as numpy evaluates it.
    const double qq = q / 100.0;
    const double pos = (static_cast<double>(values.size()) * qq + (1.0 + qq * (1.0 - 1.0 - 1.0))) - 1.0;
    const auto lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, values.size() - 1);
    std::nth_element(values.begin(), values.begin() + static_cast<long>(lo), values.end());
    const double a = values[lo];
    double b = a;
    if (hi != lo) b = *std::min_element(values.begin() + static_cast<long>(lo) + 1, values.end());
    const double t = pos - static_cast<double>(lo);
    // numpy's _lerp: a + (b - a)·t, evaluated from the nearer end for t >= 0.5.
    return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

double hd95(const uint8_t* pred, const uint8_t* ref, const Size3& size, const Spacing3& spacing) {
    RV_CHECK(count(pred, size) > 0 && count(ref, size) > 0, ErrorCode::kInvalidArgument,
             "HD95 needs a non-empty prediction and reference");
    const Box box = union_box(pred, ref, size);
    Size3 cs;
    const auto cp = crop(pred, size, box, cs), cr = crop(ref, size, box, cs);
    const auto sp = mask_surface(cp.data(), cs), sr = mask_surface(cr.data(), cs);
    std::vector<double> pooled;
    directed(sp, sr, cs, spacing, pooled);
    directed(sr, sp, cs, spacing, pooled);
    return percentile_linear(pooled, 95.0);
}

EmptyPolicy parse_empty_policy(const std::string& name) {
    if (name == "transunet") return EmptyPolicy::kTransUnet;
    if (name == "nnunet") return EmptyPolicy::kNnUnet;
    RV_THROW(ErrorCode::kInvalidArgument, "unknown empty-mask policy '", name, "' (transunet or nnunet)");
}

std::string empty_policy_name(EmptyPolicy p) { return p == EmptyPolicy::kTransUnet ? "transunet" : "nnunet"; }

DiceHd95 apply_policy(const LabelCounts& c, EmptyPolicy policy) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (c.pred > 0 && c.ref > 0)
        return {2.0 * static_cast<double>(c.intersection) / static_cast<double>(c.pred + c.ref), c.hd95};
    if (policy == EmptyPolicy::kTransUnet) return c.pred > 0 ? DiceHd95{1.0, 0.0} : DiceHd95{0.0, 0.0};
    return {c.pred == 0 && c.ref == 0 ? nan : 0.0, nan};
}

LabelCounts label_counts(const uint8_t* pred_labels, const uint8_t* ref_labels, int label, const Size3& size,
                         const Spacing3& spacing) {
    const auto total = static_cast<size_t>(size[0] * size[1] * size[2]);
    const auto l = static_cast<uint8_t>(label);
    std::vector<uint8_t> p(total), r(total);
    LabelCounts c;
    for (size_t i = 0; i < total; ++i) {
        p[i] = pred_labels[i] == l;
        r[i] = ref_labels[i] == l;
        c.pred += p[i];
        c.ref += r[i];
        c.intersection += p[i] & r[i];
    }
    if (c.pred > 0 && c.ref > 0) c.hd95 = hd95(p.data(), r.data(), size, spacing);
    return c;
}

}  // namespace rv::metrics
