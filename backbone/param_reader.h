// ParamReader: takes a module's parameters out of a WeightStore under a key prefix, with the
// expected shape, so every module loads by the official state_dict names.
// Layer: backbone. PyTorch counterpart: Module.load_state_dict(strict=True) key walking.
#pragma once

#include <string>

#include "vision/core/tensor.h"
#include "vision/weights/weight_store.h"

namespace rv::backbone {

class ParamReader {
public:
    ParamReader(weights::WeightStore& store, std::string prefix)
        : store_(&store), prefix_(std::move(prefix)) {}

    // A child scope: prefix + name + ".".
    ParamReader sub(const std::string& name) const { return ParamReader(*store_, prefix_ + name + "."); }

    bool has(const std::string& name) const { return store_->contains(prefix_ + name); }
    std::string key(const std::string& name) const { return prefix_ + name; }

    // Fails with kNotFound / kShapeMismatch naming the file, the full key and both shapes.
    Tensor take(const std::string& name, const Shape& shape) const {
        return store_->take(prefix_ + name, shape);
    }

private:
    weights::WeightStore* store_;
    std::string prefix_;
};

}  // namespace rv::backbone
