// Fuzz entry point for the NIfTI-1 header and data checks of the medical IO (see fuzz_entry.h).
// ITK itself cannot be built by clang here (Debian's ITK 5.2 headers accept GNU compilers only:
// itk_compiler_detection.h "Unsupported compiler"), so this harness covers our own NIfTI code
// (vision/image/medical_nifti.cpp): the header read (plain and gzip) and the voxel-count and
// finiteness checks that run before ITK sees a file.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_entry.h"
#include "vision/core/error.h"
#include "vision/image/medical_nifti.h"

namespace rv::fuzz {

bool run_nifti(const uint8_t* data, size_t size) {
    // The reader takes a path: one scratch file per process, .nii.gz when the bytes are gzip.
    const bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    const std::string path = "/tmp/rv-fuzz-nifti-" + std::to_string(::getpid()) + (gz ? ".nii.gz" : ".nii");
    if (FILE* f = std::fopen(path.c_str(), "wb")) {
        if (size > 0) std::fwrite(data, 1, size, f);
        std::fclose(f);
    } else {
        return false;
    }
    bool ok = true;
    try {
        const std::vector<uint8_t> h = image::nifti::read_header(path);
        if (!h.empty()) {
            (void)image::nifti::header_swapped(h);
            image::nifti::check_data(path, h);
        }
    } catch (const rv::Error&) {
        ok = false;
    }
    std::remove(path.c_str());
    return ok;
}

}  // namespace rv::fuzz
