// FileBytes: the whole content of a checkpoint as one read-only byte range, either a private
// read-only mmap of the file or a buffer handed over by the caller (tests, fuzzing).
// Layer: vision/weights. PyTorch counterpart: caffe2/serialize/file_adapter.h (FileAdapter) and
// torch.load(mmap=True).
//
// Readers index into this range and keep pointers to it, so it lives as long as the WeightStore.
// open() refuses directories, special files, missing and empty files with a message naming the
// path. A file truncated by someone else while mapped would raise SIGBUS: checkpoints are not
// expected to change under a running process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rv::weights {

class FileBytes {
public:
    static FileBytes open(const std::string& path);
    static FileBytes from_buffer(std::vector<uint8_t> bytes);

    FileBytes() = default;
    FileBytes(FileBytes&& other) noexcept;
    FileBytes& operator=(FileBytes&& other) noexcept;
    FileBytes(const FileBytes&) = delete;
    FileBytes& operator=(const FileBytes&) = delete;
    ~FileBytes();

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

private:
    void release() noexcept;

    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    void* map_ = nullptr;  // non-null when data_ is an mmap
    std::vector<uint8_t> buffer_;
};

}  // namespace rv::weights
