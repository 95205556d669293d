// The restricted unpickler on hand-made streams: opcode coverage, refused globals, inert
// placeholders, and every bound. Layer: tests. PyTorch counterpart: torch/_weights_only_unpickler.py.
#include <gtest/gtest.h>

#include "tests/weights/weights_test_util.h"
#include "vision/weights/pickle_reader.h"

namespace rv::weights::pickle {
namespace {

using namespace std::string_literals;  // "..."s keeps embedded NUL bytes
using test::wt::Pickle;

std::unique_ptr<Unpickled> run(const std::string& b, const Limits& lim = {}) {
    return unpickle(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "'t.pth' (archive/data.pkl)", lim);
}

// Error code of unpickling `b`, or -1 if it succeeded; the message is kept for inspection.
int code_of(const std::string& b, std::string* msg = nullptr, const Limits& lim = {}) {
    try {
        run(b, lim);
        return -1;
    } catch (const Error& e) {
        if (msg) *msg = e.what();
        return static_cast<int>(e.code());
    }
}
int code(ErrorCode c) { return static_cast<int>(c); }

std::string u32le(uint32_t v) {
    std::string s(4, '\0');
    for (int k = 0; k < 4; ++k) s[static_cast<size_t>(k)] = static_cast<char>(v >> (8 * k));
    return s;
}
std::string u64le(uint64_t v) {
    return u32le(static_cast<uint32_t>(v)) + u32le(static_cast<uint32_t>(v >> 32));
}

TEST(Pickle, PlainDataOpcodes) {
    Pickle p;
    p.proto(4).op(0x95).raw(u64le(5));                         // FRAME (hint only)
    p.empty_dict().op(0x94).mark();                            // MEMOIZE -> memo[0]
    p.op(0x8c).op(1).raw("a").op(0x8a).op(2).raw("\xfe\xff");  // 'a': LONG1 -2
    p.op(0x8c).op(1).raw("b").op('G').raw(
        std::string("\x3f\xf8\x00\x00\x00\x00\x00\x00", 8));               // 'b': 1.5 (big-endian)
    p.op(0x8c).op(1).raw("c").op(0x8a).op(9).raw(std::string(9, '\x01'));  // 'c': int beyond int64 -> opaque
    p.op(0x8c).op(1).raw("d").op('C').op(2).raw("xy");                     // 'd': SHORT_BINBYTES
    p.op(0x8c).op(1).raw("e").op('M').raw("\x34\x12");                     // 'e': BININT2 0x1234
    p.op(0x8c).op(1).raw("f").op('J').raw(u32le(0xFFFFFFF6u));             // 'f': BININT -10
    p.op(0x8c).op(1).raw("g").mark().op('N').op(0x88).op(0x89).op('l');    // 'g': LIST [None, True, False]
    p.op(0x8c).op(1).raw("h").op(0x8f).mark().op('K').op(1).op(0x90);      // 'h': set {1} -> opaque
    p.op(0x8c).op(1).raw("i").mark().op('K').op(1).op(0x91);               // 'i': frozenset -> opaque
    p.op(0x8c).op(1).raw("j").op(0x8d).raw(u64le(2)).raw("hi");            // 'j': BINUNICODE8
    p.op(0x8c).op(1).raw("k").op(0x96).raw(u64le(1)).raw("z");             // 'k': BYTEARRAY8
    p.op(0x8c).op(1).raw("l").op('U').op(2).raw("py");                     // 'l': SHORT_BINSTRING
    p.op(0x8c).op(1).raw("m").mark().op(0x8c).op(1).raw("x").op('K').op(7).op('d');  // 'm': DICT {'x': 7}
    p.op(0x8c).op(1).raw("n").op('K').op(5).op('2').op(0x86);                        // 'n': DUP -> (5, 5)
    p.op(0x8c).op(1).raw("o").op(0x8b).raw(u32le(0));  // 'o': LONG4 of 0 bytes = 0
    p.setitems();
    p.mark().op('N').op('1');  // POP_MARK drops the mark and None
    p.op('N').op('0');         // POP
    p.stop();
    auto u = run(p.b);
    const Value& root = *u->root;
    ASSERT_EQ(root.kind, Kind::kDict);
    ASSERT_EQ(root.entries.size(), 15u);
    auto at = [&](size_t i) -> const Value& { return *root.entries[i].second; };
    EXPECT_EQ(at(0).kind, Kind::kInt);
    EXPECT_EQ(at(0).i, -2);
    EXPECT_EQ(at(1).f, 1.5);
    EXPECT_EQ(at(2).kind, Kind::kOpaque);
    EXPECT_EQ(at(3).kind, Kind::kBytes);
    EXPECT_EQ(at(3).s, "xy");
    EXPECT_EQ(at(4).i, 0x1234);
    EXPECT_EQ(at(5).i, -10);
    ASSERT_EQ(at(6).items.size(), 3u);
    EXPECT_TRUE(at(6).items[1]->flag);
    EXPECT_EQ(at(7).kind, Kind::kOpaque);
    EXPECT_EQ(at(8).kind, Kind::kOpaque);
    EXPECT_EQ(at(9).s, "hi");
    EXPECT_EQ(at(10).s, "z");
    EXPECT_EQ(at(11).s, "py");
    EXPECT_EQ(at(12).entries.size(), 1u);
    EXPECT_EQ(at(13).items[0], at(13).items[1]);
    EXPECT_EQ(at(14).i, 0);
}

TEST(Pickle, SharedAndCyclicReferencesAreSafe) {
    // l = []; l.append(l); {'l': l} -- a cycle through the memo.
    Pickle p;
    p.proto().empty_dict().str("l").op(']').put(0).get(0).op('a').op('s').stop();
    auto u = run(p.b);
    const Value& l = *u->root->entries[0].second;
    EXPECT_EQ(l.items[0], &l);
}

TEST(Pickle, InertClassesBecomePlaceholders) {
    Pickle p;
    p.proto().empty_dict().mark();
    // yacs CfgNode: NEWOBJ, BUILD with its __dict__, then dict items.
    p.str("config").global("yacs.config", "CfgNode").empty_tuple().op(0x81);
    p.empty_dict().str("__immutable__").op(0x89).op('s').op('b');
    p.mark().str("MODEL").str("vrwkv").setitems();
    // argparse.Namespace via NEWOBJ_EX with empty kwargs.
    p.str("args").global("argparse", "Namespace").empty_tuple().empty_dict().op(0x92);
    // numpy scalar via STACK_GLOBAL and REDUCE.
    p.str("score").str("numpy.core.multiarray").str("scalar").op(0x93);
    p.global("numpy", "dtype").mark().str("f8").op(0x89).op(0x88).tuple().reduce();
    p.str(std::string(8, '\0')).op(0x86).reduce();
    // A list with APPENDS into a defaultdict placeholder.
    p.str("dd").global("collections", "defaultdict").global("builtins", "list").op(0x85).reduce();
    p.mark().op('K').op(1).op('e');
    p.setitems().stop();
    auto u = run(p.b);
    ASSERT_EQ(u->root->entries.size(), 4u);
    for (const auto& kv : u->root->entries) EXPECT_EQ(kv.second->kind, Kind::kOpaque) << kv.first->s;
    EXPECT_EQ(u->root->entries[0].second->s, "yacs.config.CfgNode");
}

TEST(Pickle, ForbiddenGlobalsAreNamed) {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"os", "system"},
        {"posix", "system"},
        {"nt", "system"},
        {"builtins", "eval"},
        {"builtins", "exec"},
        {"builtins", "getattr"},
        {"builtins", "__import__"},
        {"__builtin__", "eval"},
        {"subprocess", "Popen"},
        {"subprocess", "check_output"},
        {"webbrowser", "open"},
        {"torch", "load"},
        {"torch.nn.modules.linear", "Linear"},
        {"torch._utils", "_rebuild_qtensor"},
        {"torch._utils", "_rebuild_tensor"},
        {"collections", "OrderedDict.fromkeys"},
        {"numpy", "load"},
        {"pickle", "loads"},
        {"runpy", "run_path"},
        {"shutil", "rmtree"},
    };
    for (const auto& [module, name] : bad) {
        for (bool stack : {false, true}) {
            Pickle p;
            p.proto(stack ? 4 : 2);
            if (stack)
                p.str(module).str(name).op(0x93);
            else
                p.global(module, name);
            p.str("echo pwned").op(0x85).reduce().stop();
            std::string msg;
            EXPECT_EQ(code_of(p.b, &msg), code(ErrorCode::kUnsupported)) << module << "." << name;
            EXPECT_NE(msg.find("'" + module + "." + name + "'"), std::string::npos) << msg;
            EXPECT_NE(msg.find("t.pth"), std::string::npos) << msg;
            EXPECT_NE(msg.find("nothing was executed"), std::string::npos) << msg;
        }
    }
}

TEST(Pickle, MalformedStreams) {
    struct Case {
        const char* what;
        std::string bytes;
        ErrorCode expect;
    };
    const std::string P = "\x80\x02";
    // BINPERSID of ('storage'-like tag, torch.<type> or OrderedDict, '0', ['cpu',] numel).
    auto pid = [](bool with_location, const std::string& tag, const std::string& type, int64_t numel) {
        Pickle q;
        q.proto().mark().str(tag);
        if (type.empty())
            q.global("collections", "OrderedDict");
        else
            q.global("torch", type);
        q.str("0");
        if (with_location) q.str("cpu");
        q.integer(numel).tuple().op('Q').stop();
        return q.b;
    };
    const std::vector<Case> cases = {
        {"empty stream", "", ErrorCode::kCorruptFile},
        {"no STOP", P + "}", ErrorCode::kCorruptFile},
        {"STOP on empty stack", P + ".", ErrorCode::kCorruptFile},
        {"STOP with two values", P + "NN.", ErrorCode::kCorruptFile},
        {"STOP inside a MARK", P + "(N.", ErrorCode::kCorruptFile},
        {"protocol 6", "\x80\x06N.", ErrorCode::kUnsupported},
        {"unknown opcode 0xff", P + "\xff", ErrorCode::kCorruptFile},
        {"unknown opcode 0x00", P + std::string(1, '\0'), ErrorCode::kCorruptFile},
        {"INST", P + "ios\nsystem\n.", ErrorCode::kUnsupported},
        {"OBJ", P + "(o.", ErrorCode::kUnsupported},
        {"PERSID", P + "Pfoo\n.", ErrorCode::kUnsupported},
        {"EXT1", P + "\x82\x01.", ErrorCode::kUnsupported},
        {"NEXT_BUFFER", P + "\x97.", ErrorCode::kUnsupported},
        {"text INT", P + "I1\n.", ErrorCode::kUnsupported},
        {"BINGET of an empty memo", P + "h\x05.", ErrorCode::kCorruptFile},
        {"LONG_BINGET out of range", P + "Nq\x00j\xff\xff\xff\xff."s, ErrorCode::kCorruptFile},
        {"BINPUT on empty stack", P + "q\x00N."s, ErrorCode::kCorruptFile},
        {"pop below the mark", P + "N(\x85.", ErrorCode::kCorruptFile},
        {"TUPLE without MARK", P + "Nt.", ErrorCode::kCorruptFile},
        {"POP_MARK without MARK", P + "1N.", ErrorCode::kCorruptFile},
        {"BINUNICODE 4 GiB", P + "X\xff\xff\xff\xff", ErrorCode::kCorruptFile},
        {"BINUNICODE8 2^63", P + "\x8d" + u64le(uint64_t{1} << 63) + "ab", ErrorCode::kCorruptFile},
        {"BINBYTES8 2^64-1", P + "\x8e" + u64le(~uint64_t{0}), ErrorCode::kCorruptFile},
        {"SHORT_BINUNICODE short", P + "\x8c\xff" + "abc", ErrorCode::kCorruptFile},
        {"LONG4 2 GiB", P + "\x8b\xff\xff\xff\x7f", ErrorCode::kCorruptFile},
        {"LONG4 negative", P + "\x8b\xff\xff\xff\xff", ErrorCode::kCorruptFile},
        {"BINSTRING negative", P + "T\xff\xff\xff\xff", ErrorCode::kCorruptFile},
        {"FRAME 2^64-1", "\x80\x04\x95" + u64le(~uint64_t{0}) + "N.", ErrorCode::kCorruptFile},
        {"truncated BININT", P + "J\x01\x02", ErrorCode::kCorruptFile},
        {"GLOBAL without newline", P + "cos", ErrorCode::kCorruptFile},
        {"GLOBAL name too long", P + "c" + std::string(5000, 'a') + "\nb\n.", ErrorCode::kCorruptFile},
        {"STACK_GLOBAL of ints", P + "K\x01K\x02\x93.", ErrorCode::kCorruptFile},
        {"REDUCE on an int", P + "K\x01)R.", ErrorCode::kCorruptFile},
        {"REDUCE with non-tuple args", P + "ccollections\nOrderedDict\nNR.", ErrorCode::kCorruptFile},
        {"OrderedDict with arguments", P + "ccollections\nOrderedDict\n]\x85R.", ErrorCode::kUnsupported},
        {"NEWOBJ_EX kwargs not a dict", P + "cargparse\nNamespace\n)N\x92.", ErrorCode::kCorruptFile},
        {"SETITEM on a list", P + "]K\x01K\x02s.", ErrorCode::kCorruptFile},
        {"SETITEMS odd", P + "}(K\x01u.", ErrorCode::kCorruptFile},
        {"APPEND on a dict", P + "}K\x01a.", ErrorCode::kCorruptFile},
        {"BUILD on an int", P + "K\x01}b.", ErrorCode::kCorruptFile},
        {"ADDITEMS on a list", P + "](K\x01\x90.", ErrorCode::kCorruptFile},
        {"BINPERSID of an int", P + "K\x01Q.", ErrorCode::kCorruptFile},
        {"BINPERSID 4-tuple", pid(false, "storage", "FloatStorage", 1), ErrorCode::kCorruptFile},
        {"BINPERSID wrong tag", pid(true, "foe", "FloatStorage", 1), ErrorCode::kCorruptFile},
        {"BINPERSID non-storage type", pid(true, "storage", "", 1), ErrorCode::kCorruptFile},
        {"BINPERSID negative numel", pid(true, "storage", "FloatStorage", -1), ErrorCode::kCorruptFile},
        {"storage type called", P + "ctorch\nFloatStorage\n)R.", ErrorCode::kCorruptFile},
        {"rebuild with 2 args", P + "ctorch._utils\n_rebuild_tensor_v2\nNN\x86R.", ErrorCode::kCorruptFile},
        {"rebuild without a storage",
         P + "ctorch._utils\n_rebuild_tensor_v2\n(NK\x00)))\x89Nt"s
             "R.",
         ErrorCode::kCorruptFile},
        {"parameter of a non-tensor", P + "ctorch._utils\n_rebuild_parameter\nN\x89N\x87R.",
         ErrorCode::kCorruptFile},
    };
    for (const Case& c : cases) {
        std::string msg;
        EXPECT_EQ(code_of(c.bytes, &msg), code(c.expect)) << c.what << ": " << msg;
        EXPECT_NE(msg.find("t.pth"), std::string::npos) << c.what << ": " << msg;
    }
}

TEST(Pickle, DepthBombsAreBoundedOrHarmless) {
    // 100k MARKs: refused by the mark limit.
    std::string marks = "\x80\x02";
    marks.append(100000, '(');
    EXPECT_EQ(code_of(marks), code(ErrorCode::kLimit));
    // 300k nested lists, 300k nested 1-tuples and 100k nested dicts: no recursion anywhere, so
    // they simply load (and free) without touching the C++ stack.
    {
        const size_t n = 300000;
        std::string b = "\x80\x02";
        b.append(n, ']').append(n - 1, 'a').append(".");
        EXPECT_EQ(code_of(b), -1);
        std::string t = "\x80\x02N";
        t.append(n, '\x85').append(".");
        EXPECT_EQ(code_of(t), -1);
        std::string d = "\x80\x02}";
        for (int i = 0; i < 100000; ++i) d += "K\x01}";
        for (int i = 0; i < 100000; ++i) d += "s";
        EXPECT_EQ(code_of(d + "."), -1);
    }
}

TEST(Pickle, LimitsAreEnforced) {
    Limits small;
    small.max_values = 1000;
    small.max_stack = 100;
    small.max_marks = 10;
    small.max_memo = 50;
    small.max_items = 200;
    small.max_ndim = 4;
    const std::string P = "\x80\x02";
    EXPECT_EQ(code_of(P + std::string(101, 'N'), nullptr, small), code(ErrorCode::kLimit));  // stack
    EXPECT_EQ(code_of(P + std::string(11, '('), nullptr, small), code(ErrorCode::kLimit));   // marks
    std::string values = P;
    for (int i = 0; i < 1001; ++i) values += "N0";
    EXPECT_EQ(code_of(values, nullptr, small), code(ErrorCode::kLimit));
    std::string memo = P + "N";
    for (uint32_t i = 0; i < 51; ++i) memo.append("r").append(u32le(i * 1000003u));
    EXPECT_EQ(code_of(memo, nullptr, small), code(ErrorCode::kLimit));
    // 201 APPENDs of one value: items are counted even when no value is created.
    std::string appends = P + "]Nq\x01" + "0";  // [list]; memo[1] = None
    for (int i = 0; i < 201; ++i)
        appends +=
            "h\x01"
            "a";
    EXPECT_EQ(code_of(appends + "0.", nullptr, small), code(ErrorCode::kLimit));
    Pickle rank;
    rank.proto().empty_dict().str("w").tensor("0", 1, 0, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}).op('s').stop();
    EXPECT_EQ(code_of(rank.b, nullptr, small), code(ErrorCode::kLimit));
}

TEST(Pickle, TensorsRecordViewsOfOneStorage) {
    Pickle p;
    p.proto().empty_dict().mark();
    p.str("a").tensor("s", 12, 0, {3, 4}, {4, 1});
    p.str("b").tensor("s", 12, 2, {3}, {4});
    p.str("c").tensor("t", 2, 0, {}, {}, "HalfStorage");
    p.setitems().stop();
    auto u = run(p.b);
    ASSERT_EQ(u->storages.size(), 2u);
    ASSERT_EQ(u->tensors.size(), 3u);
    EXPECT_EQ(u->tensors[0].storage, u->tensors[1].storage);
    EXPECT_EQ(u->tensors[1].offset, 2u);
    EXPECT_EQ(u->tensors[1].strides, (std::vector<int64_t>{4}));
    EXPECT_EQ(u->storages[1].dtype, DType::kF16);
    EXPECT_TRUE(u->tensors[2].shape.empty());
}

}  // namespace
}  // namespace rv::weights::pickle
