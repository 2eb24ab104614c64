// Error checking and memory of the CUDA runtime, for the backend's host code (private header).
#pragma once

#include <cstddef>
#include <string>

namespace fpscore::cuda_detail {

// Throws CudaError (DeviceMemoryError for an allocation failure) when `status` (a cudaError_t)
// is not cudaSuccess, naming `call`.
void check_cuda(int status, const char* call);

// Device memory owned by the object (cudaMalloc / cudaFree); moves, never copies.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(std::size_t bytes);
    DeviceBuffer(DeviceBuffer&& other) noexcept;
    DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer();

    template <class T>
    T* as() const { return static_cast<T*>(p_); }
    std::size_t bytes() const { return bytes_; }

private:
    void* p_ = nullptr;
    std::size_t bytes_ = 0;
};

// Copies host -> device and device -> host (synchronous).
void to_device(void* dst, const void* src, std::size_t bytes);
void to_host(void* dst, const void* src, std::size_t bytes);

// Makes `device` current for the calling thread.
void set_device(int device);

// Free and total memory of the current device, in bytes.
void memory_info(std::size_t* free_bytes, std::size_t* total_bytes);

}  // namespace fpscore::cuda_detail
