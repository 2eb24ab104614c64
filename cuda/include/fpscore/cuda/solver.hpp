// fpscore::cuda — the Fokker–Planck batch on an NVIDIA GPU (target fpscore::cuda, built only
// with -DFPSCORE_CUDA=ON). The same problem, options and solution as the CPU solver
// (fpscore/fp/solver.hpp); the batch is solved in chunks that fit the device's memory, each
// chunk's steps iterated on the device with only per-member convergence numbers coming back.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "fpscore/fp/solver.hpp"

namespace fpscore::cuda {

// A CUDA runtime call failed (no device, a kernel fault, a driver mismatch): the message names
// the call and the runtime's error string.
class CudaError : public std::runtime_error {
public:
    explicit CudaError(const std::string& what) : std::runtime_error(what) {}
};

// The device ran out of memory; the message says how much was asked for and what to change.
class DeviceMemoryError : public CudaError {
public:
    explicit DeviceMemoryError(const std::string& what) : CudaError(what) {}
};

// Devices the CUDA runtime sees; 0 without a driver or a device (never throws).
int device_count() noexcept;

// The architectures this build compiled kernels for, comma-separated, e.g. "80,90"
// (CMAKE_CUDA_ARCHITECTURES).
std::string compiled_architectures();

// The CUDA runtime this build was compiled against, e.g. "13.0".
std::string runtime_version();

// The name and compute capability of device `device`, e.g. "NVIDIA H200 (sm_90)".
std::string device_name(int device = 0);

// Allocates `bytes` on the current device and frees them: DeviceMemoryError when they do not fit.
void try_allocate(std::size_t bytes);

struct DeviceOptions {
    int device = 0;      // the CUDA device to run on
    index_t max_chunk = 0;  // most batch members per chunk; 0: as many as fit in 80 % of free memory
};

// Solves the problem from m0 (B, H, W) on the device; the same checks, errors and results (to
// round-off) as fpscore::solve_log_density. FPOptions::threads is not used. Throws CudaError
// (DeviceMemoryError when not even one member fits) for device failures.
FPSolution solve_log_density(const FPProblem& problem, ArrayView m0, const FPOptions& options = {},
                             const DeviceOptions& device = {});

}  // namespace fpscore::cuda
