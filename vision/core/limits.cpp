// Resource limits (see limits.h).
#include "vision/core/limits.h"

#include <cstdlib>
#include <mutex>

#include "vision/core/error.h"

namespace rv {

namespace {

Limits g_limits;
std::once_flag g_env_once;

void check_positive(const Limits& l) {
    RV_CHECK(l.max_pixels > 0 && l.max_tensor_bytes > 0 && l.max_tokens > 0 && l.max_activation_bytes > 0,
             ErrorCode::kInvalidArgument, "resource limits must be positive (max pixels ", l.max_pixels,
             ", max tensor bytes ", l.max_tensor_bytes, ", max tokens ", l.max_tokens,
             ", max activation bytes ", l.max_activation_bytes, ")");
}

}  // namespace

int64_t parse_limit(const std::string& text, const std::string& what) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    int shift = 0;
    if (digits + 1 == text.size()) {
        switch (text.back()) {
            case 'k':
            case 'K':
                shift = 10;
                break;
            case 'm':
            case 'M':
                shift = 20;
                break;
            case 'g':
            case 'G':
                shift = 30;
                break;
            case 't':
            case 'T':
                shift = 40;
                break;
            default:
                shift = -1;
        }
    } else if (digits != text.size()) {
        shift = -1;
    }
    RV_CHECK(digits > 0 && digits <= 18 && shift >= 0, ErrorCode::kInvalidArgument, what, " '", text,
             "' is not a positive whole number (optionally with K, M, G or T)");
    const int64_t n = std::stoll(text.substr(0, digits));
    RV_CHECK(n > 0, ErrorCode::kInvalidArgument, what, " must be positive, got '", text, "'");
    RV_CHECK(n <= (INT64_MAX >> shift), ErrorCode::kInvalidArgument, what, " '", text, "' is too large");
    return n << shift;
}

Limits limits_from_env(Limits base) {
    const struct {
        const char* name;
        int64_t Limits::*field;
    } vars[] = {{"RV_MAX_PIXELS", &Limits::max_pixels},
                {"RV_MAX_TENSOR_BYTES", &Limits::max_tensor_bytes},
                {"RV_MAX_TOKENS", &Limits::max_tokens},
                {"RV_MAX_ACTIVATION_BYTES", &Limits::max_activation_bytes}};
    for (const auto& v : vars) {
        if (const char* value = std::getenv(v.name)) {
            base.*(v.field) = parse_limit(value, std::string("environment variable ") + v.name);
        }
    }
    return base;
}

const Limits& limits() {
    std::call_once(g_env_once, [] { g_limits = limits_from_env(g_limits); });
    return g_limits;
}

void set_limits(const Limits& l) {
    check_positive(l);
    std::call_once(g_env_once, [] {});  // explicit limits win over a later first use
    g_limits = l;
}

}  // namespace rv
