// Names of rv::ErrorCode values. Layer: vision/core.
#include "vision/core/error.h"

namespace rv {

std::string_view error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::kInvalidArgument:
            return "invalid argument";
        case ErrorCode::kNotFound:
            return "not found";
        case ErrorCode::kCorruptFile:
            return "corrupt file";
        case ErrorCode::kUnsupported:
            return "unsupported";
        case ErrorCode::kShapeMismatch:
            return "shape mismatch";
        case ErrorCode::kIo:
            return "i/o error";
        case ErrorCode::kLimit:
            return "limit exceeded";
        case ErrorCode::kInternal:
            return "internal error";
    }
    return "unknown error";
}

}  // namespace rv
