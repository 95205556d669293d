// rv::Error and the checking macros used everywhere.
// Layer: vision/core (depends on nothing). PyTorch counterpart: none (c10::Error plays this role).
//
// Errors a user can cause (bad files, wrong shapes, unknown names) throw rv::Error with a code and
// a message that names the object and says what to do. Internal invariants use RV_ASSERT, which
// also throws (kInternal) so that a bug in one item of a batch does not abort the others.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rv {

// Stable codes; apps map them to exit statuses (README table).
enum class ErrorCode {
    kInvalidArgument = 1,  // a flag, config field or model name the user gave is wrong
    kNotFound,             // a file, key or model id does not exist
    kCorruptFile,          // a file exists but its content is malformed or truncated
    kUnsupported,          // well-formed input we deliberately do not handle
    kShapeMismatch,        // tensor shapes disagree (weights vs model, input vs model)
    kIo,                   // reading or writing failed at the OS level
    kLimit,                // a configured resource limit would be exceeded
    kInternal,             // a broken invariant: a bug in rwkv-vision
};

std::string_view error_code_name(ErrorCode code);

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

// Concatenates anything streamable: rv::str("key ", key, " has shape ", s).
template <typename... Args>
std::string str(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}

}  // namespace rv

// RV_CHECK(cond, code, parts...): throw rv::Error(code, str(parts...)) when cond is false.
#define RV_CHECK(cond, code, ...)                                       \
    do {                                                                \
        if (!(cond)) throw ::rv::Error((code), ::rv::str(__VA_ARGS__)); \
    } while (0)

#define RV_THROW(code, ...) throw ::rv::Error((code), ::rv::str(__VA_ARGS__))

// Internal invariant: a failure is a bug in rwkv-vision, not in the user's input.
#define RV_ASSERT(cond)                                                                               \
    do {                                                                                              \
        if (!(cond))                                                                                  \
            throw ::rv::Error(::rv::ErrorCode::kInternal,                                             \
                              ::rv::str("internal error: ", #cond, " at ", __FILE__, ":", __LINE__)); \
    } while (0)
