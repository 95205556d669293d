// CPU feature detection and the ISA cap. Layer: vision/core.
#include "vision/core/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "vision/core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define RV_X86 1
#else
#define RV_X86 0
#endif

namespace rv {
namespace {

Isa detect() {
#if RV_X86
    // __builtin_cpu_supports also checks that the OS saves the YMM / ZMM state (XGETBV), so a
    // kernel chosen here cannot fault on a CPU whose OS has AVX-512 disabled.
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    if (avx512) return Isa::kAvx512;
    if (avx2) return Isa::kAvx2;
#endif
    return Isa::kScalar;
}

// The RV_MAX_ISA cap, read once. A bad value throws on every query until it is fixed: the
// function-local static is not initialised when its initialiser throws.
Isa env_cap() {
    static const Isa cap = [] {
        const char* s = std::getenv("RV_MAX_ISA");
        if (s == nullptr || *s == '\0') return Isa::kAvx512;
        try {
            return parse_isa(s);
        } catch (const Error& e) {
            RV_THROW(ErrorCode::kInvalidArgument, "environment variable RV_MAX_ISA: ", e.what());
        }
    }();
    return cap;
}

// set_max_isa's cap; kAvx512 (the top level) means "no cap".
std::atomic<int> g_cap{static_cast<int>(Isa::kAvx512)};

Isa min_isa(Isa a, Isa b) { return static_cast<int>(a) < static_cast<int>(b) ? a : b; }

}  // namespace

Isa detected_isa() {
    static const Isa isa = detect();
    return isa;
}

Isa active_isa() {
    const Isa set_cap = static_cast<Isa>(g_cap.load(std::memory_order_relaxed));
    return min_isa(min_isa(detected_isa(), env_cap()), set_cap);
}

void set_max_isa(Isa cap) { g_cap.store(static_cast<int>(cap), std::memory_order_relaxed); }

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::kScalar:
            return "scalar";
        case Isa::kAvx2:
            return "avx2";
        case Isa::kAvx512:
            return "avx512";
    }
    return "unknown";
}

Isa parse_isa(std::string_view name) {
    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512})
        if (name == isa_name(isa)) return isa;
    RV_THROW(ErrorCode::kInvalidArgument, "unknown ISA level '", name,
             "': expected one of scalar, avx2, avx512");
}

bool cpu_has_bf16() {
#if RV_X86
    static const bool has = [] {
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
        const unsigned max_subleaf = a;
        const bool amx_bf16 = (d >> 22) & 1u;  // leaf 7.0 EDX bit 22: AMX-BF16
        bool avx512_bf16 = false;
        if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d))
            avx512_bf16 = ((a >> 5) & 1u) && detected_isa() == Isa::kAvx512;  // leaf 7.1 EAX bit 5
        return avx512_bf16 || amx_bf16;
    }();
    return has;
#else
    return false;
#endif
}

std::string cpu_model_name() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const auto start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? std::string() : line.substr(start);
    }
#if RV_X86
    // No /proc (or no "model name" line): the brand string from cpuid leaves 0x80000002..4.
    unsigned regs[12] = {};
    if (__get_cpuid(0x80000004u, &regs[0], &regs[1], &regs[2], &regs[3])) {
        for (unsigned i = 0; i < 3; ++i)
            __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
        std::string s(reinterpret_cast<const char*>(regs), sizeof(regs));
        s.resize(s.find('\0') == std::string::npos ? s.size() : s.find('\0'));
        const auto start = s.find_first_not_of(' ');
        if (start != std::string::npos) return s.substr(start);
    }
#endif
    return "unknown";
}

}  // namespace rv
