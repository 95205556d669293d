// Softmax, top-k and accuracy counting. Layer: vision/metrics.
#include "vision/metrics/classification_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "vision/core/error.h"

namespace rv::metrics {

std::vector<double> softmax(const float* logits, int64_t n) {
    double mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(logits[i]));
    std::vector<double> p(static_cast<size_t>(n));
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        p[static_cast<size_t>(i)] = std::exp(static_cast<double>(logits[i]) - mx);
        sum += p[static_cast<size_t>(i)];
    }
    for (double& v : p) v /= sum;
    return p;
}

std::vector<Ranked> top_k(const std::vector<double>& scores, int k) {
    std::vector<Ranked> all(scores.size());
    for (size_t i = 0; i < scores.size(); ++i) all[i] = {static_cast<int64_t>(i), scores[i]};
    std::stable_sort(all.begin(), all.end(),
                     [](const Ranked& a, const Ranked& b) { return a.score > b.score; });
    if (k > 0 && static_cast<size_t>(k) < all.size()) all.resize(static_cast<size_t>(k));
    return all;
}

AccuracyCounter::AccuracyCounter(int64_t num_classes)
    : n_(num_classes),
      confusion_(static_cast<size_t>(num_classes), std::vector<int64_t>(static_cast<size_t>(num_classes))) {}

void AccuracyCounter::add(const float* logits, int64_t truth) {
    RV_CHECK(truth >= 0 && truth < n_, ErrorCode::kInvalidArgument, "class index ", truth,
             " out of range [0, ", n_, ")");
    std::vector<double> s(logits, logits + n_);
    const auto ranked = top_k(s, 5);
    ++count_;
    top1_ += ranked[0].index == truth;
    top5_ += std::any_of(ranked.begin(), ranked.end(), [&](const Ranked& r) { return r.index == truth; });
    ++confusion_[static_cast<size_t>(truth)][static_cast<size_t>(ranked[0].index)];
}

double AccuracyCounter::top1() const {
    return count_ ? static_cast<double>(top1_) / static_cast<double>(count_) : 0.0;
}
double AccuracyCounter::top5() const {
    return count_ ? static_cast<double>(top5_) / static_cast<double>(count_) : 0.0;
}

int64_t AccuracyCounter::class_count(int64_t c) const {
    const auto& row = confusion_[static_cast<size_t>(c)];
    return std::accumulate(row.begin(), row.end(), int64_t{0});
}

double AccuracyCounter::class_accuracy(int64_t c) const {
    const int64_t total = class_count(c);
    return total ? static_cast<double>(confusion_[static_cast<size_t>(c)][static_cast<size_t>(c)]) /
                       static_cast<double>(total)
                 : 0.0;
}

}  // namespace rv::metrics
