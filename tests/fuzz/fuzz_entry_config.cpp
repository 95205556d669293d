// Fuzz entry point for the model config JSON (see fuzz_entry.h).
#include <string>

#include "backbone/vrwkv_config.h"
#include "tests/fuzz/fuzz_entry.h"
#include "vision/core/error.h"

namespace rv::fuzz {

bool run_config(const uint8_t* data, size_t size) {
    try {
        const std::string text(reinterpret_cast<const char*>(data), size);
        const auto cfg = backbone::config_from_json(text, "fuzz.json");
        // A config that parses must survive the round trip through its own JSON form.
        (void)backbone::config_from_json(backbone::config_to_json(cfg), "fuzz.json (round trip)");
        return true;
    } catch (const rv::Error&) {
        return false;
    }
}

}  // namespace rv::fuzz
