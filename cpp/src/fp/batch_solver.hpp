// The one place where the Fokker–Planck solver hands its linear systems to a backend
// (private header). Every system of a solve has the stencil's pattern; a BatchSolver takes
// the values of up to lanes() of them at once, interleaved (value l of entry p at
// p * lanes() + l, assembled in place by the FP kernels), factorises them, and solves
// interleaved right-hand sides against the factors as often as asked.
//
// The CPU implementation runs on PackedLU; a device backend (FPSCORE_CUDA) would copy the
// symbolic plan once (SymbolicLU::plan()) and implement the same four calls.
#pragma once

#include <cstddef>
#include <memory>

#include "fpscore/sparse/symbolic_lu.hpp"

namespace fpscore::detail {

class BatchSolver {
public:
    virtual ~BatchSolver() = default;

    // Systems per batch: matrices interleaved in values() and right-hand sides in solve().
    virtual index_t lanes() const = 0;
    // The interleaved matrix values, value_count() = nnz_matrix * lanes() entries, in the
    // analysed CSR order; the caller zeroes and assembles them before factor().
    virtual double* values() = 0;
    virtual std::size_t value_count() const = 0;
    // Factorises systems [0, active) of values() (the others are ignored). Throws
    // SingularMatrixError for the first bad system; failed_system() then tells which.
    virtual void factor(index_t active) = 0;
    virtual index_t failed_system() const = 0;
    // Solves in place for x (n, lanes()) interleaved; work has as many entries.
    virtual void solve(double* x, double* work) const = 0;
};

// The CPU backend: interleaved LU (PackedLU) with `lanes` = 4 or 8.
std::unique_ptr<BatchSolver> make_cpu_batch_solver(std::shared_ptr<const SymbolicLU> symbolic, index_t lanes);

}  // namespace fpscore::detail
