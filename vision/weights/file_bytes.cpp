// Read-only file mapping. Layer: vision/weights.
#include "vision/weights/file_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "vision/core/error.h"

namespace rv::weights {

namespace {

// Closes the descriptor on every path out of open(); the mapping stays valid without it.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

FileBytes FileBytes::open(const std::string& path) {
    Fd f;
    // O_NONBLOCK: opening a FIFO with no writer would otherwise block forever (found by
    // tests/bad_inputs); it is refused below as not a regular file. mmap ignores the flag.
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f.fd < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR)
            RV_THROW(ErrorCode::kNotFound, "checkpoint file '", path, "' does not exist");
        RV_THROW(ErrorCode::kIo, "cannot open checkpoint file '", path, "': ", std::strerror(err));
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0)
        RV_THROW(ErrorCode::kIo, "cannot stat checkpoint file '", path, "': ", std::strerror(errno));
    if (S_ISDIR(st.st_mode))
        RV_THROW(ErrorCode::kInvalidArgument, "'", path, "' is a directory, not a checkpoint file");
    if (!S_ISREG(st.st_mode)) RV_THROW(ErrorCode::kInvalidArgument, "'", path, "' is not a regular file");
    if (st.st_size == 0) RV_THROW(ErrorCode::kCorruptFile, "checkpoint file '", path, "' is empty");

    FileBytes fb;
    fb.size_ = static_cast<size_t>(st.st_size);
    void* p = ::mmap(nullptr, fb.size_, PROT_READ, MAP_PRIVATE, f.fd, 0);
    if (p == MAP_FAILED)
        RV_THROW(ErrorCode::kIo, "cannot map checkpoint file '", path, "' (", fb.size_,
                 " bytes): ", std::strerror(errno));
    fb.map_ = p;
    fb.data_ = static_cast<const uint8_t*>(p);
    return fb;
}

FileBytes FileBytes::from_buffer(std::vector<uint8_t> bytes) {
    FileBytes fb;
    fb.buffer_ = std::move(bytes);
    fb.data_ = fb.buffer_.data();
    fb.size_ = fb.buffer_.size();
    return fb;
}

FileBytes::FileBytes(FileBytes&& other) noexcept { *this = std::move(other); }

FileBytes& FileBytes::operator=(FileBytes&& other) noexcept {
    if (this == &other) return *this;
    release();
    // A moved vector keeps its heap block, so data_ stays valid for buffer-backed bytes.
    buffer_ = std::move(other.buffer_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    map_ = std::exchange(other.map_, nullptr);
    return *this;
}

FileBytes::~FileBytes() { release(); }

void FileBytes::release() noexcept {
    if (map_ != nullptr) ::munmap(map_, size_);
    map_ = nullptr;
    data_ = nullptr;
    size_ = 0;
    buffer_.clear();
}

}  // namespace rv::weights
