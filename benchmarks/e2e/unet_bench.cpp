// unet_bench: times RWKV-UNet forward passes (heads::Segmenter) on random slices and prints one
// JSON line. Driven by benchmarks/e2e/unet_compare.py against the PyTorch reference.
// Layer: benchmarks (links heads). PyTorch counterpart: the worker in unet_compare.py.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "heads/segmenter.h"
#include "vision/core/error.h"
#include "vision/core/threading.h"

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: unet_bench MODEL H W THREADS REPS [BATCH]\n");
        return 2;
    }
    try {
        const int H = std::atoi(argv[2]), W = std::atoi(argv[3]), reps = std::atoi(argv[5]);
        const int B = argc > 6 ? std::atoi(argv[6]) : 1;
        rv::set_num_threads(std::atoi(argv[4]));
        const auto seg = rv::heads::Segmenter::load(argv[1]);
        const auto n = static_cast<size_t>(B) * static_cast<size_t>(seg.in_channels()) *
                       static_cast<size_t>(H) * static_cast<size_t>(W);
        std::vector<float> x(n), y(static_cast<size_t>(B) * static_cast<size_t>(seg.num_classes()) *
                                   static_cast<size_t>(H) * static_cast<size_t>(W));
        std::mt19937 rng(0);
        std::uniform_real_distribution<float> u(0.0f, 1.0f);
        for (float& v : x) v = u(rng);
        seg.forward(x.data(), B, H, W, y.data());  // warm-up (primitive creation)
        const auto t0 = std::chrono::steady_clock::now();
        for (int r = 0; r < reps; ++r) seg.forward(x.data(), B, H, W, y.data());
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("{\"seconds\": %.6f, \"slices\": %d}\n", dt, reps * B);
        return 0;
    } catch (const rv::Error& e) {
        std::fprintf(stderr, "unet_bench: %s\n", e.what());
        return 1;
    }
}
