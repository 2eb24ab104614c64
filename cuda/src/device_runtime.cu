#include "device_runtime.hpp"

#include <cuda_runtime.h>

#include <utility>

#include "fpscore/cuda/solver.hpp"

namespace fpscore::cuda_detail {

void check_cuda(int status, const char* call) {
    const auto error = static_cast<cudaError_t>(status);
    if (error == cudaSuccess) return;
    const std::string what = std::string(call) + " failed: " + cudaGetErrorName(error) + " (" +
                             cudaGetErrorString(error) + ")";
    if (error == cudaErrorMemoryAllocation)
        throw cuda::DeviceMemoryError(what + "; use a smaller batch or max_chunk, or free device memory");
    throw cuda::CudaError(what);
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes > 0) check_cuda(cudaMalloc(&p_, bytes), ("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str());
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : p_(std::exchange(other.p_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
        if (p_ != nullptr) cudaFree(p_);
        p_ = std::exchange(other.p_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}
DeviceBuffer::~DeviceBuffer() {
    if (p_ != nullptr) cudaFree(p_);
}

void to_device(void* dst, const void* src, std::size_t bytes) {
    if (bytes > 0) check_cuda(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to the device");
}
void to_host(void* dst, const void* src, std::size_t bytes) {
    if (bytes > 0) check_cuda(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to the host");
}

void set_device(int device) { check_cuda(cudaSetDevice(device), "cudaSetDevice"); }

void memory_info(std::size_t* free_bytes, std::size_t* total_bytes) {
    check_cuda(cudaMemGetInfo(free_bytes, total_bytes), "cudaMemGetInfo");
}

}  // namespace fpscore::cuda_detail

namespace fpscore::cuda {

int device_count() noexcept {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky "no device" error
        return 0;
    }
    return count;
}

std::string compiled_architectures() { return FPSCORE_CUDA_ARCHITECTURES; }

std::string runtime_version() {
    return std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10);
}

void try_allocate(std::size_t bytes) { cuda_detail::DeviceBuffer probe(bytes); }

std::string device_name(int device) {
    cudaDeviceProp prop{};
    cuda_detail::check_cuda(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}

}  // namespace fpscore::cuda
