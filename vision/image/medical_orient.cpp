// Exact reorientation of a voxel grid (permutation and flips) and nibabel-style orientation codes.
// Layer: vision/image. PyTorch counterpart: nibabel.orientations (io_orientation, ornt_transform,
// apply_orientation), which does the same permute/flip on the array.
#include <cctype>
#include <cmath>
#include <string>

#include "vision/core/error.h"
#include "vision/image/medical_volume.h"

namespace rv::image {
namespace {

// World axis (0 = x L-R, 1 = y P-A, 2 = z I-S) and sign of each index axis, the world axes
// assigned greedily by the largest |component| so that every index axis gets a different one
// (what nibabel's io_orientation does for an oblique affine).
struct AxisMap {
    std::array<int, 3> world{0, 1, 2};
    std::array<int, 3> sign{1, 1, 1};
};

AxisMap axis_map(const VolumeGeometry& g) {
    AxisMap m;
    std::array<bool, 3> index_done{false, false, false}, world_done{false, false, false};
    for (int round = 0; round < 3; ++round) {
        double best = -1.0;
        int bi = 0, bw = 0;
        for (int i = 0; i < 3; ++i) {
            if (index_done[static_cast<size_t>(i)]) continue;
            for (int w = 0; w < 3; ++w) {
                if (world_done[static_cast<size_t>(w)]) continue;
                const double v = std::fabs(g.direction[static_cast<size_t>(w * 3 + i)]);
                if (v > best) {
                    best = v;
                    bi = i;
                    bw = w;
                }
            }
        }
        index_done[static_cast<size_t>(bi)] = world_done[static_cast<size_t>(bw)] = true;
        m.world[static_cast<size_t>(bi)] = bw;
        m.sign[static_cast<size_t>(bi)] = g.direction[static_cast<size_t>(bw * 3 + bi)] < 0 ? -1 : 1;
    }
    return m;
}

// LPS world: a positive x direction points left, positive y posterior, positive z superior.
constexpr char kPositive[3] = {'L', 'P', 'S'};
constexpr char kNegative[3] = {'R', 'A', 'I'};

void parse_code(const std::string& code, AxisMap& m) {
    RV_CHECK(code.size() == 3, ErrorCode::kInvalidArgument, "orientation '", code,
             "' is not three letters (e.g. RAS, LPS)");
    std::array<bool, 3> seen{false, false, false};
    for (size_t a = 0; a < 3; ++a) {
        const char ch = static_cast<char>(std::toupper(static_cast<unsigned char>(code[a])));
        int w = -1, s = 0;
        for (int k = 0; k < 3; ++k) {
            if (ch == kPositive[k]) w = k, s = 1;
            if (ch == kNegative[k]) w = k, s = -1;
        }
        RV_CHECK(w >= 0 && !seen[static_cast<size_t>(w)], ErrorCode::kInvalidArgument, "orientation '", code,
                 "' must name each of L/R, A/P, S/I exactly once");
        seen[static_cast<size_t>(w)] = true;
        m.world[a] = w;
        m.sign[a] = s;
    }
}

template <typename T>
void reorient_impl(const T* in, T* out, const Reorientation& r) {
    // Strides of the input along each output axis, and where output voxel (0,0,0) starts.
    const std::array<int64_t, 3> in_stride{1, r.in_size[0], r.in_size[0] * r.in_size[1]};
    std::array<int64_t, 3> step{};
    int64_t start = 0;
    for (size_t a = 0; a < 3; ++a) {
        const auto s = static_cast<size_t>(r.source_axis[a]);
        step[a] = r.flip[a] ? -in_stride[s] : in_stride[s];
        if (r.flip[a]) start += (r.in_size[s] - 1) * in_stride[s];
    }
    size_t o = 0;
    for (int64_t k = 0; k < r.out_size[2]; ++k)
        for (int64_t j = 0; j < r.out_size[1]; ++j) {
            int64_t p = start + k * step[2] + j * step[1];
            for (int64_t i = 0; i < r.out_size[0]; ++i, p += step[0]) out[o++] = in[p];
        }
}

}  // namespace

std::string orientation_code(const VolumeGeometry& g) {
    const AxisMap m = axis_map(g);
    std::string code(3, '?');
    for (size_t i = 0; i < 3; ++i) {
        const auto w = static_cast<size_t>(m.world[i]);
        code[i] = m.sign[i] > 0 ? kPositive[w] : kNegative[w];
    }
    return code;
}

bool Reorientation::identity() const {
    return source_axis == std::array<int, 3>{0, 1, 2} && !flip[0] && !flip[1] && !flip[2];
}

Reorientation Reorientation::inverse() const {
    Reorientation inv;
    inv.in_size = out_size;
    inv.out_size = in_size;
    for (size_t a = 0; a < 3; ++a) {
        const auto s = static_cast<size_t>(source_axis[a]);
        inv.source_axis[s] = static_cast<int>(a);
        inv.flip[s] = flip[a];
    }
    return inv;
}

Reorientation plan_reorientation(const VolumeGeometry& g, const std::string& target) {
    AxisMap want;
    parse_code(target, want);
    const AxisMap have = axis_map(g);
    Reorientation r;
    r.in_size = g.size;
    for (size_t a = 0; a < 3; ++a) {
        for (size_t i = 0; i < 3; ++i)
            if (have.world[i] == want.world[a]) {
                r.source_axis[a] = static_cast<int>(i);
                r.flip[a] = have.sign[i] != want.sign[a];
            }
        r.out_size[a] = g.size[static_cast<size_t>(r.source_axis[a])];
    }
    return r;
}

VolumeGeometry reoriented_geometry(const VolumeGeometry& g, const Reorientation& r) {
    VolumeGeometry out = g;
    std::array<double, 3> origin = g.origin;
    for (size_t a = 0; a < 3; ++a) {
        const auto s = static_cast<size_t>(r.source_axis[a]);
        const double sign = r.flip[a] ? -1.0 : 1.0;
        out.size[a] = g.size[s];
        out.spacing[a] = g.spacing[s];
        for (size_t w = 0; w < 3; ++w) {
            out.direction[w * 3 + a] = sign * g.direction[w * 3 + s];
            // A flipped axis starts at the input's last voxel along it.
            if (r.flip[a])
                origin[w] += g.direction[w * 3 + s] * g.spacing[s] * static_cast<double>(g.size[s] - 1);
        }
    }
    out.origin = origin;
    return out;
}

void reorient(const float* in, float* out, const Reorientation& r) { reorient_impl(in, out, r); }
void reorient(const uint8_t* in, uint8_t* out, const Reorientation& r) { reorient_impl(in, out, r); }

}  // namespace rv::image
