// LU factorisation and solves of a batch of matrices that share one sparsity pattern.
//
// The matrices are factorised a few at a time with their values interleaved, so that
// every multiply-add of the elimination is one SIMD instruction across the matrices and
// the symbolic plan is read once for all of them; groups are split across threads.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include "fpscore/sparse/csr.hpp"
#include "fpscore/sparse/ordering.hpp"
#include "fpscore/sparse/sparse_lu.hpp"
#include "fpscore/sparse/symbolic_lu.hpp"

namespace fpscore {

class BatchedLU {
public:
    // Analyses `pattern` for `batch` matrices: Ordering::Automatic picks what is fastest for
    // interleaved factorisations (minimum degree on small patterns, nested dissection on
    // large grids), and large grids are eliminated by dense fronts.
    // threads: worker threads; 0 = all hardware threads. Throws std::invalid_argument.
    BatchedLU(const CsrView& pattern, index_t batch, Ordering ordering = Ordering::Automatic,
              const std::optional<GridShape>& grid = std::nullopt, int threads = 1,
              double pivot_tolerance = SparseLU::kDefaultPivotTolerance);
    // Uses an existing analysis (eliminated row by row unless it came from a BatchedLU).
    BatchedLU(std::shared_ptr<const SymbolicLU> symbolic, index_t batch, int threads = 1,
              double pivot_tolerance = SparseLU::kDefaultPivotTolerance);
    ~BatchedLU();
    BatchedLU(BatchedLU&&) noexcept;
    BatchedLU& operator=(BatchedLU&&) noexcept;

    // values: (batch, nnz_matrix) row-major, each row in the analysed CSR order;
    // count = batch * symbolic().nnz_matrix(). Throws std::invalid_argument on a size
    // mismatch or naming a batch member with NaN or inf values, and SingularMatrixError
    // naming the first batch member with a bad pivot.
    void factor(const double* values, std::size_t count);

    // b: (batch, n) row-major, count = batch * n, overwritten with the solutions.
    void solve(double* b, std::size_t count) const;

    // factor(values) then solve(b), each group's forward substitution done during its
    // factorisation and its back substitution right after, while its factors are in cache.
    void factor_solve(const double* values, std::size_t values_count, double* b, std::size_t b_count);

    index_t batch() const;
    int threads() const;
    // The most matrices factorised together (interleaved in one SIMD vector): 4 or 8.
    index_t lanes() const;
    const SymbolicLU& symbolic() const;
    bool factored() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fpscore
