// Restricted unpickler. Layer: vision/weights. See pickle_reader.h.
#include "vision/weights/pickle_reader.h"

#include <bit>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "vision/core/error.h"

namespace rv::weights::pickle {

namespace {

// Classes whose objects we never need but that appear in real checkpoints' metadata, configs
// and optimizer state. Reducing or building them yields an opaque placeholder; none of them
// is ever called.
constexpr std::string_view kInertGlobals[] = {
    "builtins.set",
    "builtins.frozenset",
    "builtins.slice",
    "builtins.complex",
    "builtins.bytearray",
    "builtins.object",
    "builtins.list",
    "builtins.dict",
    "builtins.tuple",
    "builtins.int",
    "builtins.float",
    "builtins.str",
    "builtins.bytes",
    "builtins.bool",
    "builtins.range",
    "_codecs.encode",  // how protocol 2 spells bytes
    "copyreg._reconstructor",
    "collections.defaultdict",
    "argparse.Namespace",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.core.multiarray.scalar",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray.scalar",
    "numpy._core.multiarray._reconstruct",
    "yacs.config.CfgNode",
    "mmcv.utils.config.ConfigDict",
    "mmcv.ConfigDict",
    "mmengine.config.config.ConfigDict",
    "mmengine.logging.history_buffer.HistoryBuffer",
    "addict.addict.Dict",
    "torch.device",
    "torch.Size",
    "torch.float32",
    "torch.float16",
    "torch.bfloat16",
    "torch.float64",
    "torch.int64",
    "torch.int32",
    "torch.int16",
    "torch.int8",
    "torch.uint8",
    "torch.bool",
};

struct StorageName {
    std::string_view name;
    DType dtype;
    bool supported;
};
constexpr StorageName kStorageTypes[] = {
    {"FloatStorage", DType::kF32, true},
    {"HalfStorage", DType::kF16, true},
    {"BFloat16Storage", DType::kBF16, true},
    {"DoubleStorage", DType::kF64, true},
    {"LongStorage", DType::kI64, true},
    {"IntStorage", DType::kI32, true},
    {"ShortStorage", DType::kI16, true},
    {"CharStorage", DType::kI8, true},
    {"ByteStorage", DType::kU8, true},
    {"BoolStorage", DType::kBool, true},
    // Known storages we cannot convert; loading fails only if such a tensor is requested.
    {"ComplexFloatStorage", DType::kF32, false},
    {"ComplexDoubleStorage", DType::kF64, false},
    {"QInt8Storage", DType::kI8, false},
    {"QUInt8Storage", DType::kU8, false},
    {"QInt32Storage", DType::kI32, false},
    {"QUInt4x2Storage", DType::kU8, false},
    {"QUInt2x4Storage", DType::kU8, false},
};

const char* opcode_name(uint8_t op) {
    switch (op) {
        case 'P':
            return "PERSID";
        case 'i':
            return "INST";
        case 'o':
            return "OBJ";
        case 0x82:
            return "EXT1";
        case 0x83:
            return "EXT2";
        case 0x84:
            return "EXT4";
        case 0x97:
            return "NEXT_BUFFER";
        case 0x98:
            return "READONLY_BUFFER";
        case 'I':
            return "INT";
        case 'L':
            return "LONG";
        case 'F':
            return "FLOAT";
        case 'S':
            return "STRING";
        case 'V':
            return "UNICODE";
        case 'p':
            return "PUT";
        case 'g':
            return "GET";
        default:
            return nullptr;
    }
}

class Machine {
public:
    Machine(const uint8_t* data, size_t size, const std::string& source, const Limits& limits)
        : p_(data), n_(size), src_(source), lim_(limits), out_(std::make_unique<Unpickled>()) {}

    std::unique_ptr<Unpickled> run();

private:
    // ---- errors ----
    template <typename... Args>
    [[noreturn]] void corrupt(const Args&... args) const {
        RV_THROW(ErrorCode::kCorruptFile, src_, ": malformed pickle at byte ", op_pos_, ": ", args...);
    }

    // ---- input ----
    const uint8_t* need(uint64_t k) {
        if (k > n_ - pos_)
            corrupt("needs ", k, " more bytes but only ", n_ - pos_, " remain (truncated stream)");
        const uint8_t* q = p_ + pos_;
        pos_ += static_cast<size_t>(k);
        return q;
    }
    uint8_t u8() { return *need(1); }
    uint32_t u32() {
        const uint8_t* q = need(4);
        return static_cast<uint32_t>(q[0]) | (static_cast<uint32_t>(q[1]) << 8) |
               (static_cast<uint32_t>(q[2]) << 16) | (static_cast<uint32_t>(q[3]) << 24);
    }
    uint64_t u64() {
        const uint64_t lo = u32();
        return lo | (static_cast<uint64_t>(u32()) << 32);
    }
    std::string line() {  // GLOBAL's text arguments
        constexpr size_t kMaxLine = 1024;
        const size_t start = pos_;
        while (pos_ < n_ && p_[pos_] != '\n') {
            if (pos_ - start >= kMaxLine) corrupt("GLOBAL name longer than ", kMaxLine, " bytes");
            ++pos_;
        }
        if (pos_ >= n_) corrupt("GLOBAL name is not terminated (truncated stream)");
        std::string s(reinterpret_cast<const char*>(p_ + start), pos_ - start);
        ++pos_;
        return s;
    }

    // ---- values and stack ----
    Value* make(Kind k) {
        if (out_->arena.size() >= lim_.max_values)
            RV_THROW(ErrorCode::kLimit, src_, ": pickle creates more than ", lim_.max_values, " objects");
        Value& v = out_->arena.emplace_back();
        v.kind = k;
        return &v;
    }
    void count_items(size_t k) {
        items_ += k;
        if (items_ > lim_.max_items)
            RV_THROW(ErrorCode::kLimit, src_, ": pickle containers hold more than ", lim_.max_items,
                     " items");
    }
    size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
    void push(Value* v) {
        if (stack_.size() >= lim_.max_stack)
            RV_THROW(ErrorCode::kLimit, src_, ": pickle stack deeper than ", lim_.max_stack, " entries");
        stack_.push_back(v);
    }
    Value* pop() {
        if (stack_.size() <= base()) corrupt("stack underflow");
        Value* v = stack_.back();
        stack_.pop_back();
        return v;
    }
    Value* top() {
        if (stack_.size() <= base()) corrupt("stack underflow");
        return stack_.back();
    }
    std::vector<Value*> pop_mark() {
        if (marks_.empty()) corrupt("no MARK to pop to");
        const size_t b = marks_.back();
        marks_.pop_back();
        std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(b), stack_.end());
        stack_.resize(b);
        return items;
    }
    Value* make_int(int64_t x) {
        Value* v = make(Kind::kInt);
        v->i = x;
        return v;
    }
    Value* make_tuple(std::vector<Value*> items) {
        count_items(items.size());
        Value* v = make(Kind::kTuple);
        v->items = std::move(items);
        return v;
    }
    Value* make_opaque(std::string what) {
        Value* v = make(Kind::kOpaque);
        v->s = std::move(what);
        return v;
    }
    Value* make_text(Kind k, uint64_t len) {
        const uint8_t* q = need(len);
        Value* v = make(k);
        v->s.assign(reinterpret_cast<const char*>(q), static_cast<size_t>(len));
        return v;
    }
    Value* make_long(uint64_t len) {
        const uint8_t* q = need(len);
        if (len > 8) return make_opaque("int");  // beyond int64: never a tensor argument
        uint64_t x = 0;
        for (uint64_t k = 0; k < len; ++k) x |= static_cast<uint64_t>(q[k]) << (8 * k);
        if (len > 0 && len < 8 && (q[len - 1] & 0x80)) x |= ~uint64_t{0} << (8 * len);  // sign-extend
        return make_int(static_cast<int64_t>(x));
    }
    void memo_put(uint64_t idx, Value* v) {
        if (memo_.size() >= lim_.max_memo && memo_.find(idx) == memo_.end())
            RV_THROW(ErrorCode::kLimit, src_, ": pickle memo holds more than ", lim_.max_memo, " entries");
        memo_[idx] = v;
    }
    Value* memo_get(uint64_t idx) {
        auto it = memo_.find(idx);
        if (it == memo_.end()) corrupt("memo index ", idx, " was never stored");
        return it->second;
    }

    // ---- object model ----
    Value* resolve_global(const std::string& module, const std::string& name);
    Value* call(Value* callable, Value* args, const char* how);
    Value* rebuild_tensor(const Value& args);
    Value* persistent_load(const Value& pid);
    void set_items(Value* target, const std::vector<Value*>& kv);
    void append_items(Value* target, const std::vector<Value*>& items);

    const uint8_t* p_;
    size_t n_;
    size_t pos_ = 0;
    size_t op_pos_ = 0;
    const std::string& src_;
    const Limits& lim_;
    std::unique_ptr<Unpickled> out_;
    std::vector<Value*> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, Value*> memo_;
    std::unordered_map<std::string, size_t> storage_index_;
    size_t items_ = 0;
};

Value* Machine::resolve_global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    Value* v = make(Kind::kGlobal);
    v->s = full;
    if (full == "torch._utils._rebuild_tensor_v2") {
        v->global = GlobalId::kRebuildTensorV2;
        return v;
    }
    if (full == "torch._utils._rebuild_parameter") {
        v->global = GlobalId::kRebuildParameter;
        return v;
    }
    if (full == "torch._utils._rebuild_parameter_with_state") {
        v->global = GlobalId::kRebuildParameterWithState;
        return v;
    }
    if (full == "collections.OrderedDict") {
        v->global = GlobalId::kOrderedDict;
        return v;
    }
    if (module == "torch") {
        for (const StorageName& s : kStorageTypes) {
            if (name == s.name) {
                v->global = GlobalId::kStorageType;
                v->storage_dtype = s.dtype;
                v->flag = s.supported;
                return v;
            }
        }
    }
    // Protocols 0-2 spell Python 3 modules the Python 2 way (pickle's fix_imports mapping).
    std::string py3 = full;
    if (module == "__builtin__")
        py3 = "builtins." + name;
    else if (module == "copy_reg")
        py3 = "copyreg." + name;
    for (std::string_view inert : kInertGlobals) {
        if (py3 == inert) {
            v->global = GlobalId::kInert;
            return v;
        }
    }
    RV_THROW(ErrorCode::kUnsupported, src_, ": the checkpoint refers to the Python global '", full,
             "', which is not a tensor or a known plain-data type, so the file is refused (nothing was "
             "executed). If the file is trusted, load it in PyTorch and re-save the weights only: "
             "torch.save(model.state_dict(), 'weights.pth')");
}

Value* Machine::persistent_load(const Value& pid) {
    // torch.save writes ('storage', <torch.XStorage>, key, location, numel).
    if (pid.kind != Kind::kTuple || pid.items.size() != 5) corrupt("persistent id is not a 5-tuple");
    const Value& tag = *pid.items[0];
    const Value& type = *pid.items[1];
    const Value& key = *pid.items[2];
    const Value& numel = *pid.items[4];
    if (tag.kind != Kind::kStr || tag.s != "storage") corrupt("persistent id does not start with 'storage'");
    if (type.kind != Kind::kGlobal || type.global != GlobalId::kStorageType)
        corrupt("persistent id names '", type.kind == Kind::kGlobal ? type.s : "a non-type",
                "' as storage type");
    if (key.kind != Kind::kStr || key.s.empty() || key.s.size() > 256) corrupt("persistent id has a bad key");
    if (pid.items[3]->kind != Kind::kStr) corrupt("persistent id has a bad location");
    if (numel.kind != Kind::kInt || numel.i < 0 || static_cast<uint64_t>(numel.i) > (uint64_t{1} << 56))
        corrupt("storage '", key.s, "' declares a bad element count");

    auto [it, inserted] = storage_index_.try_emplace(key.s, out_->storages.size());
    if (inserted) {
        StorageRef s;
        s.key = key.s;
        s.type_name = type.s;
        s.dtype = type.storage_dtype;
        s.supported = type.flag;
        s.numel = static_cast<uint64_t>(numel.i);
        out_->storages.push_back(std::move(s));
    } else {
        // Views of one storage are saved with the same key; all must describe it the same way.
        const StorageRef& s = out_->storages[it->second];
        if (s.type_name != type.s || s.numel != static_cast<uint64_t>(numel.i))
            corrupt("storage '", key.s, "' is declared twice with different types or sizes");
    }
    Value* v = make(Kind::kStorage);
    v->i = static_cast<int64_t>(it->second);
    return v;
}

Value* Machine::rebuild_tensor(const Value& args) {
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (args.items.size() != 6 && args.items.size() != 7)
        corrupt("_rebuild_tensor_v2 takes 6 or 7 arguments, got ", args.items.size());
    const Value& storage = *args.items[0];
    const Value& offset = *args.items[1];
    const Value& size = *args.items[2];
    const Value& stride = *args.items[3];
    if (storage.kind != Kind::kStorage) corrupt("_rebuild_tensor_v2 argument 1 is not a storage");
    if (offset.kind != Kind::kInt || offset.i < 0) corrupt("_rebuild_tensor_v2 has a bad storage offset");
    if (size.kind != Kind::kTuple || stride.kind != Kind::kTuple || size.items.size() != stride.items.size())
        corrupt("_rebuild_tensor_v2 size and stride are not tuples of the same length");
    if (size.items.size() > lim_.max_ndim)
        RV_THROW(ErrorCode::kLimit, src_, ": tensor of rank ", size.items.size(), " exceeds the limit of ",
                 lim_.max_ndim);
    TensorRef t;
    t.storage = static_cast<size_t>(storage.i);
    t.offset = static_cast<uint64_t>(offset.i);
    for (size_t d = 0; d < size.items.size(); ++d) {
        const Value& sz = *size.items[d];
        const Value& st = *stride.items[d];
        if (sz.kind != Kind::kInt || st.kind != Kind::kInt || sz.i < 0 || st.i < 0)
            corrupt("_rebuild_tensor_v2 has a negative or non-integer size or stride");
        t.shape.push_back(sz.i);
        t.strides.push_back(st.i);
    }
    const StorageRef& s = out_->storages[t.storage];
    int64_t numel = 0;
    try {
        numel = shape_numel(t.shape);  // throws kLimit on absurd shapes
    } catch (const Error& e) {
        RV_THROW(e.code(), src_, ": ", e.what());
    }
    // The last element addressed must lie inside the storage (computed without overflow).
    uint64_t last = t.offset;
    if (numel > 0) {
        bool overflow = false;
        for (size_t d = 0; d < t.shape.size(); ++d) {
            uint64_t span = 0;
            overflow |= __builtin_mul_overflow(static_cast<uint64_t>(t.shape[d] - 1),
                                               static_cast<uint64_t>(t.strides[d]), &span);
            overflow |= __builtin_add_overflow(last, span, &last);
        }
        if (overflow || last >= s.numel)
            corrupt("tensor of shape ", shape_str(t.shape), " at offset ", t.offset,
                    " reaches past storage '", s.key, "' of ", s.numel, " elements");
    } else if (last > s.numel) {
        corrupt("empty tensor offset ", t.offset, " is past storage '", s.key, "' of ", s.numel, " elements");
    }
    Value* v = make(Kind::kTensor);
    v->i = static_cast<int64_t>(out_->tensors.size());
    out_->tensors.push_back(std::move(t));
    return v;
}

Value* Machine::call(Value* callable, Value* args, const char* how) {
    if (callable->kind != Kind::kGlobal)
        corrupt(how, " applied to something that is not a class or function");
    if (args->kind != Kind::kTuple) corrupt(how, " arguments are not a tuple");
    switch (callable->global) {
        case GlobalId::kRebuildTensorV2:
            return rebuild_tensor(*args);
        case GlobalId::kRebuildParameter:
        case GlobalId::kRebuildParameterWithState: {
            // A Parameter is its data tensor; requires_grad, hooks and extra state are irrelevant.
            const size_t want = callable->global == GlobalId::kRebuildParameter ? 3 : 4;
            if (args->items.size() != want || args->items[0]->kind != Kind::kTensor)
                corrupt(callable->s, " expects a tensor and ", want - 1, " more arguments");
            return args->items[0];
        }
        case GlobalId::kOrderedDict:
            if (!args->items.empty())
                RV_THROW(ErrorCode::kUnsupported, src_,
                         ": OrderedDict built from arguments is not supported");
            return make(Kind::kDict);
        case GlobalId::kStorageType:
            corrupt("storage type ", callable->s, " is called directly");
        case GlobalId::kInert:
            return make_opaque(callable->s);
    }
    corrupt("unhandled global");
}

void Machine::set_items(Value* target, const std::vector<Value*>& kv) {
    if (kv.size() % 2 != 0) corrupt("SETITEMS with an odd number of items");
    if (target->kind == Kind::kOpaque) return;  // e.g. a CfgNode's items: not needed
    if (target->kind != Kind::kDict) corrupt("SETITEM(S) on something that is not a dict");
    count_items(kv.size() / 2);
    for (size_t k = 0; k < kv.size(); k += 2) target->entries.emplace_back(kv[k], kv[k + 1]);
}

void Machine::append_items(Value* target, const std::vector<Value*>& items) {
    if (target->kind == Kind::kOpaque) return;
    if (target->kind != Kind::kList) corrupt("APPEND(S) on something that is not a list");
    count_items(items.size());
    target->items.insert(target->items.end(), items.begin(), items.end());
}

std::unique_ptr<Unpickled> Machine::run() {
    for (;;) {
        op_pos_ = pos_;
        const uint8_t op = u8();
        switch (op) {
            case 0x80: {  // PROTO
                const uint8_t proto = u8();
                if (proto > 5)
                    RV_THROW(ErrorCode::kUnsupported, src_, ": pickle protocol ", int{proto},
                             " is not supported (max 5)");
                break;
            }
            case 0x95: {  // FRAME: a length hint only; the frame must fit in the stream
                const uint64_t len = u64();
                if (len > n_ - pos_) corrupt("FRAME of ", len, " bytes runs past the end of the stream");
                break;
            }
            case '.': {  // STOP
                if (!marks_.empty() || stack_.size() != 1)
                    corrupt("STOP with ", stack_.size(), " values on the stack");
                out_->root = stack_.back();
                return std::move(out_);
            }
            case '(':  // MARK
                if (marks_.size() >= lim_.max_marks)
                    RV_THROW(ErrorCode::kLimit, src_, ": pickle nests MARKs deeper than ", lim_.max_marks);
                marks_.push_back(stack_.size());
                break;
            case '0':  // POP (with an empty frame it drops the mark, as CPython does)
                if (stack_.size() > base())
                    stack_.pop_back();
                else
                    pop_mark();
                break;
            case '1':
                pop_mark();
                break;  // POP_MARK
            case '2':
                push(top());
                break;  // DUP
            case 'N':
                push(make(Kind::kNone));
                break;
            case 0x88:
            case 0x89: {  // NEWTRUE / NEWFALSE
                Value* v = make(Kind::kBool);
                v->flag = op == 0x88;
                push(v);
                break;
            }
            case 'K':
                push(make_int(u8()));
                break;   // BININT1
            case 'M': {  // BININT2
                const uint8_t* q = need(2);
                push(make_int(q[0] | (q[1] << 8)));
                break;
            }
            case 'J':
                push(make_int(static_cast<int32_t>(u32())));
                break;  // BININT
            case 0x8a:
                push(make_long(u8()));
                break;    // LONG1
            case 0x8b: {  // LONG4
                const int32_t len = static_cast<int32_t>(u32());
                if (len < 0) corrupt("LONG4 with negative length");
                push(make_long(static_cast<uint64_t>(len)));
                break;
            }
            case 'G': {  // BINFLOAT, big-endian
                const uint8_t* q = need(8);
                uint64_t bits = 0;
                for (int k = 0; k < 8; ++k) bits = (bits << 8) | q[k];
                Value* v = make(Kind::kFloat);
                v->f = std::bit_cast<double>(bits);
                push(v);
                break;
            }
            case 'X':
                push(make_text(Kind::kStr, u32()));
                break;  // BINUNICODE
            case 0x8c:
                push(make_text(Kind::kStr, u8()));
                break;  // SHORT_BINUNICODE
            case 0x8d:
                push(make_text(Kind::kStr, u64()));
                break;   // BINUNICODE8
            case 'T': {  // BINSTRING (Python 2 str)
                const int32_t len = static_cast<int32_t>(u32());
                if (len < 0) corrupt("BINSTRING with negative length");
                push(make_text(Kind::kStr, static_cast<uint64_t>(len)));
                break;
            }
            case 'U':
                push(make_text(Kind::kStr, u8()));
                break;  // SHORT_BINSTRING
            case 'B':
                push(make_text(Kind::kBytes, u32()));
                break;  // BINBYTES
            case 'C':
                push(make_text(Kind::kBytes, u8()));
                break;  // SHORT_BINBYTES
            case 0x8e:
                push(make_text(Kind::kBytes, u64()));
                break;  // BINBYTES8
            case 0x96:
                push(make_text(Kind::kBytes, u64()));
                break;  // BYTEARRAY8
            case ')':
                push(make_tuple({}));
                break;    // EMPTY_TUPLE
            case 0x85: {  // TUPLE1
                Value* a = pop();
                push(make_tuple({a}));
                break;
            }
            case 0x86: {  // TUPLE2
                Value* b = pop();
                Value* a = pop();
                push(make_tuple({a, b}));
                break;
            }
            case 0x87: {  // TUPLE3
                Value* c = pop();
                Value* b = pop();
                Value* a = pop();
                push(make_tuple({a, b, c}));
                break;
            }
            case 't':
                push(make_tuple(pop_mark()));
                break;  // TUPLE
            case ']':
                push(make(Kind::kList));
                break;   // EMPTY_LIST
            case 'l': {  // LIST
                std::vector<Value*> items = pop_mark();
                Value* v = make(Kind::kList);
                append_items(v, items);
                push(v);
                break;
            }
            case '}':
                push(make(Kind::kDict));
                break;   // EMPTY_DICT
            case 'd': {  // DICT
                std::vector<Value*> kv = pop_mark();
                Value* v = make(Kind::kDict);
                set_items(v, kv);
                push(v);
                break;
            }
            case 0x8f:
                push(make_opaque("set"));
                break;    // EMPTY_SET
            case 0x90: {  // ADDITEMS
                std::vector<Value*> items = pop_mark();
                if (top()->kind != Kind::kOpaque) corrupt("ADDITEMS on something that is not a set");
                count_items(items.size());
                break;
            }
            case 0x91:  // FROZENSET
                pop_mark();
                push(make_opaque("frozenset"));
                break;
            case 'a': {  // APPEND
                Value* v = pop();
                append_items(top(), {v});
                break;
            }
            case 'e': {  // APPENDS
                std::vector<Value*> items = pop_mark();
                append_items(top(), items);
                break;
            }
            case 's': {  // SETITEM
                Value* v = pop();
                Value* k = pop();
                set_items(top(), {k, v});
                break;
            }
            case 'u': {  // SETITEMS
                std::vector<Value*> kv = pop_mark();
                set_items(top(), kv);
                break;
            }
            case 'q':
                memo_put(u8(), top());
                break;  // BINPUT
            case 'r':
                memo_put(u32(), top());
                break;  // LONG_BINPUT
            case 0x94:
                memo_put(memo_.size(), top());
                break;  // MEMOIZE
            case 'h':
                push(memo_get(u8()));
                break;  // BINGET
            case 'j':
                push(memo_get(u32()));
                break;   // LONG_BINGET
            case 'c': {  // GLOBAL
                std::string module = line();
                std::string name = line();
                push(resolve_global(module, name));
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                Value* name = pop();
                Value* module = pop();
                if (module->kind != Kind::kStr || name->kind != Kind::kStr)
                    corrupt("STACK_GLOBAL needs two strings");
                push(resolve_global(module->s, name->s));
                break;
            }
            case 'R': {  // REDUCE
                Value* args = pop();
                Value* fn = pop();
                push(call(fn, args, "REDUCE"));
                break;
            }
            case 0x81: {  // NEWOBJ
                Value* args = pop();
                Value* cls = pop();
                push(call(cls, args, "NEWOBJ"));
                break;
            }
            case 0x92: {  // NEWOBJ_EX
                Value* kwargs = pop();
                Value* args = pop();
                Value* cls = pop();
                if (kwargs->kind != Kind::kDict) corrupt("NEWOBJ_EX keyword arguments are not a dict");
                push(call(cls, args, "NEWOBJ_EX"));
                break;
            }
            case 'b': {  // BUILD: object state (attributes) is not needed for anything we read
                pop();
                const Kind k = top()->kind;
                if (k != Kind::kDict && k != Kind::kOpaque && k != Kind::kTensor)
                    corrupt("BUILD on a value that has no state");
                break;
            }
            case 'Q': {  // BINPERSID
                Value* pid = pop();
                push(persistent_load(*pid));
                break;
            }
            default: {
                if (const char* name = opcode_name(op))
                    RV_THROW(ErrorCode::kUnsupported, src_, ": pickle opcode ", name,
                             " is not supported (torch.save does not write it)");
                corrupt("unknown opcode 0x", "0123456789abcdef"[op >> 4], "0123456789abcdef"[op & 15]);
            }
        }
    }
}

}  // namespace

std::unique_ptr<Unpickled> unpickle(const uint8_t* data, size_t size, const std::string& source,
                                    const Limits& limits) {
    Machine m(data, size, source, limits);
    return m.run();
}

}  // namespace rv::weights::pickle
