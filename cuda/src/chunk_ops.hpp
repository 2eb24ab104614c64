// The operations a chunk solve of the Fokker–Planck batch is made of, on buffers that live
// where the executor runs them (private header). A chunk is up to capacity() batch members,
// their fields interleaved (value of node p of member l at p * count + l). ChunkDriver
// (chunk_driver.hpp) holds the control flow on the host; DeviceChunkOps runs each operation
// as CUDA kernels, HostChunkOps as loops over the same per-node code (the reference that the
// unit tests compare with the CPU solver).
#pragma once

#include <cstdint>
#include <vector>

#include "fpscore/fp/solver.hpp"

namespace fpscore::cuda_detail {

// A chunk's pivot failure: the first failing elimination step of a member, its u_ii and the
// largest |a_ij| of its row.
struct PivotFailure {
    std::int32_t member = -1;  // within the chunk; -1: none
    std::int32_t row = -1;
    double pivot = 0.0;
    double norm = 0.0;
};

// Per member of the chunk, after a correction: max |Δ| and max |m|.
struct Changes {
    std::vector<double> change;
    std::vector<double> scale;
};

class ChunkOps {
public:
    virtual ~ChunkOps() = default;

    // The most members one chunk holds (the device's memory decides).
    virtual std::int32_t capacity() const = 0;
    // Members [first, first + count) of the problem: level 0 from m0, their Dirichlet ghosts.
    virtual void begin(std::int32_t first, std::int32_t count) = 0;

    // Picard: the iterate for step n extrapolated from levels n-1, n-2, n-3.
    virtual void first_guess(std::int32_t n) = 0;
    // The residual b − A(lag)·lag of step n into the correction, and A(lag) into the factors
    // when `refactor`. Picard (policy = false): previous level n-1, lag the iterate. Policy:
    // previous level the iterate (this sweep's level n-1), lag the last sweep's level n.
    virtual void assemble(std::int32_t n, bool policy, bool refactor) = 0;
    // Factorises every member's matrix; the first member with a bad pivot, if any.
    virtual PivotFailure factor() = 0;
    // The correction ← F⁻¹ · correction.
    virtual void solve() = 0;
    // Picard: iterate += correction for the members with live[l] != 0.
    virtual Changes correct(const std::vector<std::uint8_t>& live) = 0;
    // Picard: level n ← the iterate.
    virtual void store_level(std::int32_t n) = 0;

    // Policy: every level of the sweep ← level 0.
    virtual void sweep_init() = 0;
    // Policy, at the start of a sweep: the iterate ← level 0.
    virtual void sweep_begin() = 0;
    // Policy, step n: x = sweep level n + correction; change max |x − sweep level n|, scale
    // max |x|; then the iterate and sweep level n ← x.
    virtual Changes sweep_update(std::int32_t n) = 0;
    // Policy: levels 1..N ← the sweep's levels for members with done[l] != 0.
    virtual void commit(const std::vector<std::uint8_t>& done) = 0;

    // max |v| per member for the lagged field of step n (for error messages).
    virtual std::vector<double> speeds(std::int32_t n, bool policy) = 0;
    // The scores of every level, and the chunk's levels and scores into the solution
    // (m (N+1, B, H, W), score (N+1, B, 2, H, W), host memory).
    virtual void finish(double* m, double* score) = 0;
};

}  // namespace fpscore::cuda_detail
