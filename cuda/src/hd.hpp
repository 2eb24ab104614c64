// FPSCORE_HD marks the per-element code that runs in the CUDA kernels and, compiled by the
// host compiler, in the host executor that the unit tests check against the CPU solver.
#pragma once

#if defined(__CUDACC__)
#define FPSCORE_HD __host__ __device__ inline
#else
#define FPSCORE_HD inline
#endif
