// libFuzzer harness: nifti bytes through rv::fuzz::run_nifti (tests/fuzz/fuzz_entry.h).
// Built only with -DRV_FUZZ=ON under clang; see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)rv::fuzz::run_nifti(data, size);
    return 0;
}
