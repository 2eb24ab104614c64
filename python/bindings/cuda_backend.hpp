// The CUDA backend as the Python module sees it (private to the bindings): present only in a
// build with FPSCORE_CUDA=ON, and reporting its absence otherwise.
#pragma once

#include <pybind11/pybind11.h>

#include "fpscore/fp/solver.hpp"

namespace fpscore_bindings {

// has_cuda, cuda_info and the CudaError / DeviceMemoryError exception types.
void bind_cuda(pybind11::module_& m);

// Solves on CUDA device `device` (chunks of at most max_chunk members, 0: what fits); throws
// std::invalid_argument in a build without the backend.
fpscore::FPSolution solve_on_cuda(const fpscore::FPProblem& pb, fpscore::ArrayView m0, const fpscore::FPOptions& opt,
                                  int device, int max_chunk);

}  // namespace fpscore_bindings
