// Comparison helpers for parity tests: max absolute / relative error and where it occurs, and
// fixture loading from tests/fixtures. Layer: tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "vision/core/tensor.h"
#include "vision/weights/weight_store.h"

namespace rv::test {

std::string fixture_path(const std::string& relative);  // RV_SOURCE_DIR/tests/fixtures/<relative>

struct Diff {
    double max_abs = 0.0;
    double max_rel = 0.0;
    int64_t where = -1;  // flat index of max_abs
    bool finite = true;  // false if `got` has NaN/Inf where `expected` does not
};
Diff compare(const float* got, const float* expected, int64_t n);

// EXPECTs that got[0..expected.numel()) matches expected within atol (NaN/Inf fail);
// the message names `what`, the error, its index and both values.
void expect_close(const std::string& what, const float* got, const Tensor& expected, double atol);

// Reads a JSON side file into a string.
std::string read_text(const std::string& path);

}  // namespace rv::test
