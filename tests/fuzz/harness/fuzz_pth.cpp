// libFuzzer harness: pth bytes through rv::fuzz::run_pth (tests/fuzz/fuzz_entry.h).
// Built only with -DRV_FUZZ=ON under clang; see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)rv::fuzz::run_pth(data, size);
    return 0;
}
