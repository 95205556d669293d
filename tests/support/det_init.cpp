// Deterministic parameters for parity tests (see det_init.h). Layer: tests.
#include "tests/support/det_init.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "vision/core/error.h"

namespace rv::test {

uint64_t fnv1a64(const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

Tensor det_tensor(const std::string& key, const Shape& shape, double lo, double hi, uint64_t global_seed) {
    Tensor t(shape);
    const uint64_t seed = fnv1a64(key) ^ global_seed;
    for (int64_t i = 0; i < t.numel(); ++i) {
        const double u = static_cast<double>(splitmix64(seed + static_cast<uint64_t>(i)) >> 11) * 0x1.0p-53;
        t[i] = static_cast<float>(lo + (hi - lo) * u);
    }
    return t;
}

weights::WeightStore det_store_from_json(const std::string& json_path) {
    std::ifstream f(json_path);
    RV_CHECK(f.good(), ErrorCode::kNotFound, "cannot open ", json_path);
    const nlohmann::json j = nlohmann::json::parse(f);
    const uint64_t seed = j.at("seed").get<uint64_t>();
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const auto& p : j.at("params")) {
        const std::string key = p.at("key").get<std::string>();
        tensors.emplace_back(key, det_tensor(key, p.at("shape").get<Shape>(), p.at("lo").get<double>(),
                                             p.at("hi").get<double>(), seed));
    }
    return weights::WeightStore::from_tensors(std::move(tensors));
}

}  // namespace rv::test
