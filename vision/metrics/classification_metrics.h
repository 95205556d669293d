// Classification scoring and metrics: softmax, top-k ranking, and an accuracy/confusion
// accumulator. Layer: vision/metrics. PyTorch counterparts: torch.softmax + torch.topk;
// mmcls.models.losses.accuracy / mmcls Accuracy metric (topk=(1, 5)).
#pragma once

#include <cstdint>
#include <vector>

namespace rv::metrics {

// Probabilities in double (max-subtracted, so any finite logits work).
std::vector<double> softmax(const float* logits, int64_t n);

struct Ranked {
    int64_t index;
    double score;
};
// The k best scores, highest first; ties keep the lower index first. k <= 0 means all.
std::vector<Ranked> top_k(const std::vector<double>& scores, int k);

// Accumulates top-1/top-5 hits and the confusion matrix (rows: truth, columns: top-1).
class AccuracyCounter {
public:
    explicit AccuracyCounter(int64_t num_classes);
    void add(const float* logits, int64_t truth);
    int64_t count() const { return count_; }
    double top1() const;
    double top5() const;
    const std::vector<std::vector<int64_t>>& confusion() const { return confusion_; }
    double class_accuracy(int64_t c) const;  // NaN-free: 0 for a class without images
    int64_t class_count(int64_t c) const;

private:
    int64_t n_, count_ = 0, top1_ = 0, top5_ = 0;
    std::vector<std::vector<int64_t>> confusion_;
};

}  // namespace rv::metrics
