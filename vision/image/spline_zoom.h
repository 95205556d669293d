// scipy.ndimage.zoom of a 2-D float plane, order 0 (nearest) and order 3 (cubic B-spline with
// prefilter), mode 'constant', grid_mode False: the resampling of the official RWKV-UNet /
// TransUNet test script (slice to 224² with order 3, prediction back with order 0).
// Layer: vision/image (plain loops). PyTorch counterpart: scipy.ndimage.zoom (scipy 1.10), as
// called in RWKV-UNet utils.py test_single_volume.
#pragma once

#include <cstdint>

namespace rv::image {

// in [H, W] row-major → out [OH, OW]. Sample (r, c) of the output reads input coordinate
// (r·(H − 1)/(OH − 1), c·(W − 1)/(OW − 1)) (0 when the output has one row/column).
// order 3: the plane is first converted to B-spline coefficients (mirror boundary, which scipy
// uses for mode 'constant' when every sample lies inside the input); order 0: the nearest input
// sample, rounding halves up (floor(x + 0.5)).
void spline_zoom(const float* in, int64_t H, int64_t W, float* out, int64_t OH, int64_t OW, int order);

}  // namespace rv::image
