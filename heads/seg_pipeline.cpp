// The `segment` pipeline (see seg_pipeline.h). Slices are cut straight from the input grid through
// the reorientation's index map, and labels written straight back, so no reoriented copy of the
// volume is ever made: memory is the input volume, its label map and one batch of slices.
// Layer: heads.
#include "heads/seg_pipeline.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "vision/core/error.h"
#include "vision/image/spline_zoom.h"
#include "vision/ops/dense_ops.h"

namespace rv::heads {
namespace {
namespace fs = std::filesystem;

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void check_same_grid(const image::Volume& a, const image::Volume& b) {
    const auto& ga = a.geometry;
    const auto& gb = b.geometry;
    RV_CHECK(ga.size == gb.size, ErrorCode::kShapeMismatch, "channel '", b.source.path, "' has size ",
             gb.size[0], "x", gb.size[1], "x", gb.size[2], ", channel '", a.source.path, "' ", ga.size[0],
             "x", ga.size[1], "x", ga.size[2], "; all channels of a case must share one grid");
    bool close = true;
    for (size_t i = 0; i < 3; ++i)
        close = close && std::fabs(ga.spacing[i] - gb.spacing[i]) <= 1e-4 &&
                std::fabs(ga.origin[i] - gb.origin[i]) <= 1e-4;
    for (size_t i = 0; i < 9; ++i) close = close && std::fabs(ga.direction[i] - gb.direction[i]) <= 1e-4;
    RV_CHECK(close, ErrorCode::kShapeMismatch, "channel '", b.source.path,
             "' has another geometry (spacing, ", "origin or direction) than '", a.source.path,
             "'; resample the channels onto one grid first");
}

// numpy.percentile (default 'linear') of float values; reorders them. Same index arithmetic as
// metrics::percentile_linear.
double percentile(std::vector<float>& values, double q) {
    const double qq = q / 100.0;
    const double pos = (static_cast<double>(values.size()) * qq + (1.0 + qq * (1.0 - 1.0 - 1.0))) - 1.0;
    const auto lo =
        static_cast<size_t>(std::clamp(std::floor(pos), 0.0, static_cast<double>(values.size() - 1)));
    const size_t hi = std::min(lo + 1, values.size() - 1);
    std::nth_element(values.begin(), values.begin() + static_cast<long>(lo), values.end());
    const auto a = static_cast<double>(values[lo]);
    double b = a;
    if (hi != lo)
        b = static_cast<double>(*std::min_element(values.begin() + static_cast<long>(lo) + 1, values.end()));
    const double t = pos - std::floor(pos);
    return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

// SegIntensity over a whole volume, in place.
void normalise(std::vector<float>& v, const SegIntensity& s, const std::string& path) {
    double lo = s.lo, hi = s.hi;
    if (s.mode == "percentile") {
        // A float copy (half the memory of doubles: 300 MiB for a 512x512x300 CT); the two order
        // statistics are exact either way and are interpolated in double as numpy.percentile does.
        std::vector<float> values;
        values.reserve(v.size());
        for (float x : v)
            if (!s.nonzero_only || x != 0.0f) values.push_back(x);
        RV_CHECK(!values.empty(), ErrorCode::kInvalidArgument, "'", path,
                 "' has no non-zero voxel to take intensity percentiles from");
        lo = percentile(values, s.p_lo);
        hi = percentile(values, s.p_hi);
    } else if (s.mode == "none") {
        lo = 0.0;
        hi = 0.0;
    } else {
        RV_CHECK(s.mode == "window", ErrorCode::kUnsupported, "intensity mode '", s.mode,
                 "' (percentile, window or none)");
    }
    const bool scale = s.mode != "none";
    const auto flo = static_cast<float>(lo), frange = static_cast<float>(hi - lo);
    const auto mean = static_cast<float>(s.mean), inv_std = static_cast<float>(1.0 / s.std);
    for (float& x : v) {
        float y = x;
        if (scale) y = frange > 0.0f ? std::clamp((x - flo) / frange, 0.0f, 1.0f) : 0.0f;
        x = (y - mean) * inv_std;
    }
}

// Where the reoriented voxel (o0, o1, o2) is in the input: base + Σ o[a]·step[a].
struct IndexMap {
    int64_t base = 0;
    std::array<int64_t, 3> step{};
    std::array<int64_t, 3> size{};  // of the reoriented grid
};

IndexMap index_map(const image::Reorientation& r) {
    const std::array<int64_t, 3> stride{1, r.in_size[0], r.in_size[0] * r.in_size[1]};
    IndexMap m;
    for (size_t a = 0; a < 3; ++a) {
        const auto s = static_cast<size_t>(r.source_axis[a]);
        m.step[a] = r.flip[a] ? -stride[s] : stride[s];
        if (r.flip[a]) m.base += (r.in_size[s] - 1) * stride[s];
        m.size[a] = r.out_size[a];
    }
    return m;
}

void resize_plane(const std::string& mode, const float* in, int64_t H, int64_t W, float* out, int64_t OH,
                  int64_t OW, int64_t planes) {
    if (H == OH && W == OW) {
        std::copy(in, in + planes * H * W, out);
        return;
    }
    if (mode == "bilinear") {
        ops::bilinear_resize(in, planes, H, W, 1, OH, OW, false, out);
    } else if (mode == "cubic_spline") {
        for (int64_t p = 0; p < planes; ++p)
            image::spline_zoom(in + p * H * W, H, W, out + p * OH * OW, OH, OW, 3);
    } else if (mode == "nearest") {
        for (int64_t p = 0; p < planes; ++p)
            image::spline_zoom(in + p * H * W, H, W, out + p * OH * OW, OH, OW, 0);
    } else {
        RV_THROW(ErrorCode::kUnsupported, "resize mode '", mode, "' (bilinear or cubic_spline)");
    }
}

// Softmax over classes of logits [K, n] in place.
void softmax(float* x, int64_t K, int64_t n) {
    for (int64_t p = 0; p < n; ++p) {
        float m = x[p];
        for (int64_t k = 1; k < K; ++k) m = std::max(m, x[k * n + p]);
        float sum = 0.0f;
        for (int64_t k = 0; k < K; ++k) sum += (x[k * n + p] = std::exp(x[k * n + p] - m));
        for (int64_t k = 0; k < K; ++k) x[k * n + p] /= sum;
    }
}

// argmax over classes (the first of equal maxima, as torch.argmax) of [K, n].
void argmax(const float* x, int64_t K, int64_t n, float* labels) {
    for (int64_t p = 0; p < n; ++p) {
        int64_t best = 0;
        for (int64_t k = 1; k < K; ++k)
            if (x[k * n + p] > x[best * n + p]) best = k;
        labels[p] = static_cast<float>(best);
    }
}

bool has_channel_suffix(const std::string& stem, int* channel) {
    if (stem.size() < 6 || stem[stem.size() - 5] != '_') return false;
    for (size_t i = stem.size() - 4; i < stem.size(); ++i)
        if (!std::isdigit(static_cast<unsigned char>(stem[i]))) return false;
    if (channel) *channel = std::stoi(stem.substr(stem.size() - 4));
    return true;
}

std::string stem_of(const std::string& path) {
    const std::string name = fs::path(path).filename().string();
    const std::string ext = image::volume_extension(path);
    return name.substr(0, name.size() - ext.size());
}

}  // namespace

SegmentedVolume segment_volume(const SliceNet& net, std::vector<image::Volume> channels,
                               const SegmentOptions& options) {
    const SegPreprocess& pre = net.preprocess;
    RV_CHECK(!channels.empty(), ErrorCode::kInvalidArgument, "no input channels");
    RV_CHECK(static_cast<int>(channels.size()) == pre.in_channels, ErrorCode::kInvalidArgument, "model ",
             net.id, " wants ", pre.in_channels, " channel(s) per case, got ", channels.size(), " ('",
             channels[0].source.path, "' ...)");
    RV_CHECK(net.num_classes >= 1 && net.num_classes <= 256, ErrorCode::kUnsupported, "model ", net.id,
             " has ", net.num_classes, " classes; label maps are uint8");
    RV_CHECK(options.batch >= 1, ErrorCode::kInvalidArgument, "--batch must be at least 1");
    for (size_t c = 1; c < channels.size(); ++c) check_same_grid(channels[0], channels[c]);
    for (auto& ch : channels) normalise(ch.voxels, pre.intensity, ch.source.path);

    SegmentedVolume out;
    out.geometry = channels[0].geometry;
    out.source = channels[0].source;
    const auto& g = out.geometry;
    const int64_t voxels = g.voxel_count();

    // The slicing geometry: reoriented grid, slice axis, row and column axes.
    IndexMap map;
    int axis = 2, row_axis = 0, col_axis = 1;
    if (g.dims == 2) {
        map = index_map(image::Reorientation{{0, 1, 2}, {false, false, false}, g.size, g.size});
        row_axis = 1;  // a 2-D image as displayed: rows along j, columns along i
        col_axis = 0;
    } else {
        map = index_map(image::plan_reorientation(g, pre.orientation));
        axis = options.slice_axis >= 0 ? options.slice_axis : pre.slice_axis;
        RV_CHECK(axis >= 0 && axis <= 2, ErrorCode::kInvalidArgument, "slice axis ", axis, " (0, 1 or 2)");
        row_axis = axis == 0 ? 1 : 0;
        col_axis = axis == 2 ? 1 : 2;
    }
    const int64_t n_slices = map.size[static_cast<size_t>(axis)];
    const int64_t H = map.size[static_cast<size_t>(row_axis)], W = map.size[static_cast<size_t>(col_axis)];
    const int64_t IH = pre.input_h, IW = pre.input_w, C = pre.in_channels, K = net.num_classes;
    const int64_t step_s = map.step[static_cast<size_t>(axis)],
                  step_r = map.step[static_cast<size_t>(row_axis)],
                  step_c = map.step[static_cast<size_t>(col_axis)];

    out.labels.assign(static_cast<size_t>(voxels), 0);
    if (options.probabilities) out.probabilities.assign(static_cast<size_t>(voxels * K), 0.0f);
    out.slices = n_slices;

    const std::string resize_back = pre.resize_out == "nearest_labels" ? "nearest" : "bilinear";
    RV_CHECK(pre.resize_out == "nearest_labels" || pre.resize_out == "bilinear_logits",
             ErrorCode::kUnsupported, "resize_out '", pre.resize_out,
             "' (bilinear_logits or nearest_labels)");
    const int64_t B = std::min<int64_t>(options.batch, n_slices);
    std::vector<float> plane(static_cast<size_t>(H * W)), images(static_cast<size_t>(B * C * IH * IW)),
        logits(static_cast<size_t>(B * K * IH * IW)), back(static_cast<size_t>(K * H * W)),
        labels_in(static_cast<size_t>(IH * IW)), labels_back(static_cast<size_t>(H * W));
    for (int64_t s0 = 0; s0 < n_slices; s0 += B) {
        const int64_t nb = std::min(B, n_slices - s0);
        for (int64_t b = 0; b < nb; ++b)
            for (int64_t c = 0; c < C; ++c) {
                const float* vol = channels[static_cast<size_t>(c)].voxels.data();
                const int64_t base = map.base + (s0 + b) * step_s;
                for (int64_t r = 0; r < H; ++r)
                    for (int64_t q = 0; q < W; ++q)
                        plane[static_cast<size_t>(r * W + q)] = vol[base + r * step_r + q * step_c];
                resize_plane(pre.resize_in, plane.data(), H, W, images.data() + (b * C + c) * IH * IW, IH, IW,
                             1);
            }
        net.forward(images.data(), static_cast<int>(nb), static_cast<int>(IH), static_cast<int>(IW),
                    logits.data());
        for (int64_t b = 0; b < nb; ++b) {
            float* lg = logits.data() + b * K * IH * IW;
            const float* labels = nullptr;
            const float* probs = nullptr;
            if (resize_back == "bilinear") {
                // Logits back to the slice's size, then argmax (and softmax) there.
                resize_plane("bilinear", lg, IH, IW, back.data(), H, W, K);
                argmax(back.data(), K, H * W, labels_back.data());
                labels = labels_back.data();
                if (options.probabilities) {
                    softmax(back.data(), K, H * W);
                    probs = back.data();
                }
            } else {
                // argmax at the network's size, labels back by nearest (zoom order 0).
                argmax(lg, K, IH * IW, labels_in.data());
                resize_plane("nearest", labels_in.data(), IH, IW, labels_back.data(), H, W, 1);
                labels = labels_back.data();
                if (options.probabilities) {
                    softmax(lg, K, IH * IW);
                    resize_plane("nearest", lg, IH, IW, back.data(), H, W, K);
                    probs = back.data();
                }
            }
            const int64_t base = map.base + (s0 + b) * step_s;
            for (int64_t r = 0; r < H; ++r)
                for (int64_t q = 0; q < W; ++q) {
                    const int64_t p = base + r * step_r + q * step_c;
                    out.labels[static_cast<size_t>(p)] = static_cast<uint8_t>(labels[r * W + q]);
                    if (probs)
                        for (int64_t k = 0; k < K; ++k)
                            out.probabilities[static_cast<size_t>(k * voxels + p)] =
                                probs[k * H * W + r * W + q];
                }
        }
        if (options.on_slices) options.on_slices(s0 + nb, n_slices);
    }
    return out;
}

bool is_case_file(const std::string& path) {
    const std::string name = fs::path(path).filename().string();
    if (name.empty() || name[0] == '.' || image::volume_extension(path).empty()) return false;
    int channel = 0;
    return !has_channel_suffix(stem_of(path), &channel) || channel == 0;
}

std::string case_id(const std::string& item) {
    std::error_code ec;
    if (fs::is_directory(item, ec)) {
        fs::path p(item);
        if (!p.has_filename()) p = p.parent_path();
        return p.filename().string();
    }
    std::string stem = stem_of(item);
    if (has_channel_suffix(stem, nullptr)) stem.resize(stem.size() - 5);
    return stem;
}

SegCase case_for_item(const std::string& item, int in_channels) {
    SegCase c;
    c.id = case_id(item);
    std::error_code ec;
    if (fs::is_directory(item, ec)) {
        RV_CHECK(in_channels == 1, ErrorCode::kInvalidArgument, "'", item,
                 "' is one DICOM series, the model wants ", in_channels,
                 " channels (give CASE_0000 ... files)");
        c.channels = {item};
        c.output_extension = ".nii.gz";
        return c;
    }
    const std::string ext = image::volume_extension(item);
    c.output_extension = ext;
    int channel = 0;
    if (!has_channel_suffix(stem_of(item), &channel)) {
        RV_CHECK(in_channels == 1, ErrorCode::kNotFound, "'", item,
                 "' has no channel suffix, the model wants ", in_channels, " channels: name them ", c.id,
                 "_0000", ext, " ... ", c.id, "_", in_channels - 1 < 10 ? "000" : "00", in_channels - 1, ext);
        c.channels = {item};
        return c;
    }
    const fs::path dir = fs::path(item).parent_path();
    const std::string name = fs::path(item).filename().string();
    const std::string prefix = name.substr(0, name.size() - ext.size() - 4);  // "CASE_"
    for (int k = 0; k < in_channels; ++k) {
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, "%04d", k);
        const fs::path p = dir / (prefix + suffix + name.substr(name.size() - ext.size()));
        RV_CHECK(fs::exists(p, ec), ErrorCode::kNotFound, "case ", c.id, ": channel file '", p.string(),
                 "' is missing (the model wants ", in_channels, " channels)");
        c.channels.push_back(p.string());
    }
    return c;
}

CaseTiming segment_case(const SliceNet& net, const SegCase& c, const std::string& label_path,
                        const std::vector<std::string>& prob_paths, const SegmentOptions& options) {
    CaseTiming t;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<image::Volume> channels;
    for (const auto& path : c.channels) channels.push_back(image::read_volume(path));
    t.read_s = seconds_since(t0);
    t.size = channels[0].geometry.size;
    t.orientation = channels[0].geometry.dims == 2 ? "2-D" : image::orientation_code(channels[0].geometry);
    t0 = std::chrono::steady_clock::now();
    SegmentOptions o = options;
    o.probabilities = !prob_paths.empty();
    RV_CHECK(prob_paths.empty() || static_cast<int>(prob_paths.size()) == net.num_classes,
             ErrorCode::kInternal, "probability paths: ", prob_paths.size(), " for ", net.num_classes,
             " classes");
    SegmentedVolume seg = segment_volume(net, std::move(channels), o);
    t.compute_s = seconds_since(t0);
    t.slices = seg.slices;
    t0 = std::chrono::steady_clock::now();
    // Probabilities first: the label map is the mark of a finished case (--continue checks it).
    const int64_t voxels = seg.geometry.voxel_count();
    for (size_t k = 0; k < prob_paths.size(); ++k)
        image::write_float_volume(prob_paths[k], seg.geometry, seg.source,
                                  seg.probabilities.data() + static_cast<int64_t>(k) * voxels);
    image::write_label_volume(label_path, seg.geometry, seg.source, seg.labels.data());
    t.write_s = seconds_since(t0);
    return t;
}

}  // namespace rv::heads
