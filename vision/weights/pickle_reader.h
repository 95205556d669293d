// A restricted unpickler for the data.pkl stream of a PyTorch zip checkpoint.
// Layer: vision/weights. PyTorch counterpart: torch/serialization.py (_load, persistent_load),
// torch/_utils.py (_rebuild_tensor_v2, _rebuild_parameter), torch/_weights_only_unpickler.py;
// format: CPython Lib/pickle.py and Lib/pickletools.py (protocols 2-5).
//
// It runs the pickle stack machine over plain data only and executes nothing. A GLOBAL is
// resolved by exact name against three lists:
//   - rebuilders it understands: torch._utils._rebuild_tensor_v2 / _rebuild_parameter /
//     _rebuild_parameter_with_state, collections.OrderedDict, torch.<Type>Storage;
//   - known-inert data classes (numpy scalars and arrays, argparse.Namespace, yacs CfgNode, mmcv
//     ConfigDict, sets, ...): calling or building them yields an opaque placeholder, so metadata,
//     configs and optimizer state are skipped without being interpreted;
//   - anything else (os.system, builtins.eval, a pickled nn.Module, ...) stops the load with an
//     error that names the global and the file.
// Tensors are not materialised here: a tensor value records its storage, offset, shape and
// strides, checked against the storage's declared element count; pth_reader fetches the bytes.
// Values live in an arena owned by the result, so shared and even cyclic references are safe,
// and nothing walks the value graph recursively. Stack, memo, mark depth, value count and all
// lengths are bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vision/core/tensor.h"
#include "vision/weights/weight_store.h"

namespace rv::weights::pickle {

struct Limits {
    size_t max_values = 2'000'000;  // objects created (at most one per opcode; ~100 bytes each)
    size_t max_stack = 1'000'000;   // operand stack entries
    size_t max_marks = 4096;        // nesting of MARK ... (tuples, lists, dicts)
    size_t max_memo = 2'000'000;    // memo entries
    size_t max_items = 16'000'000;  // items held by all lists, tuples and dicts together
    size_t max_ndim = 64;           // tensor rank
};

enum class Kind : uint8_t {
    kNone,
    kBool,
    kInt,
    kFloat,
    kStr,  // text (UTF-8 as stored)
    kBytes,
    kTuple,
    kList,
    kDict,     // dict or OrderedDict: entries in insertion order (duplicates kept; last one wins)
    kGlobal,   // a resolved class or function reference
    kStorage,  // a storage from a persistent id
    kTensor,
    kOpaque,  // an object of a known-inert class, or a value we do not represent (e.g. big int)
};

// What a kGlobal refers to.
enum class GlobalId : uint8_t {
    kRebuildTensorV2,
    kRebuildParameter,
    kRebuildParameterWithState,
    kOrderedDict,
    kStorageType,  // torch.<X>Storage; Value::storage_dtype / storage_supported say which
    kInert,
};

struct Value {
    Kind kind = Kind::kNone;
    GlobalId global = GlobalId::kInert;  // kGlobal
    bool flag = false;                   // kBool; for a storage type: dtype is supported
    DType storage_dtype = DType::kF32;   // kGlobal kStorageType
    int64_t i = 0;                       // kInt; index into storages / tensors for kStorage / kTensor
    double f = 0.0;                      // kFloat
    std::string s;                       // kStr, kBytes; qualified name for kGlobal / kOpaque
    std::vector<Value*> items;           // kTuple, kList
    std::vector<std::pair<Value*, Value*>> entries;  // kDict
};

struct StorageRef {
    std::string key;        // archive/data/<key>
    std::string type_name;  // e.g. "torch.HalfStorage"
    DType dtype = DType::kF32;
    bool supported = true;  // false for complex / quantized storages
    uint64_t numel = 0;     // declared element count
};

struct TensorRef {
    size_t storage = 0;
    uint64_t offset = 0;  // in elements
    Shape shape;
    std::vector<int64_t> strides;  // in elements
};

struct Unpickled {
    std::deque<Value> arena;  // deque: element addresses never move
    const Value* root = nullptr;
    std::vector<StorageRef> storages;
    std::vector<TensorRef> tensors;
};

// Runs the restricted unpickler over `data`. `source` names the file (and entry) in messages.
// Throws rv::Error: kCorruptFile for malformed streams, kUnsupported for forbidden globals and
// opcodes we do not accept, kLimit when a bound is hit.
std::unique_ptr<Unpickled> unpickle(const uint8_t* data, size_t size, const std::string& source,
                                    const Limits& limits = {});

}  // namespace rv::weights::pickle
