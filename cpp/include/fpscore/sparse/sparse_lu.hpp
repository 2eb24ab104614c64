// Sparse Gaussian elimination of one matrix with static (diagonal) pivoting.
//
// The work is split as in KLU: a SymbolicLU orders the matrix and computes the fill
// pattern of L and U once per sparsity pattern; a SparseLU then factorises any number of
// matrices with that pattern, touching only values:
//
//     auto symbolic = std::make_shared<const fpscore::SymbolicLU>(pattern);
//     fpscore::SparseLU lu(symbolic);
//     lu.factor(values.data(), values.size());   // and again for every new matrix
//     lu.solve(b.data(), b.size());              // b becomes x with A x = b
#pragma once

#include <cstddef>
#include <memory>

#include "fpscore/sparse/csr.hpp"
#include "fpscore/sparse/symbolic_lu.hpp"

namespace fpscore {

class SparseLU {
public:
    // A pivot u_ii with |u_ii| <= pivot_tolerance * max_j |a_ij| is singular.
    static constexpr double kDefaultPivotTolerance = 1e-13;

    // pivot_tolerance in [0, 1). threads >= 2 (0: all cores) factorises the two halves of
    // the elimination tree below its top separator at once, the second on a helper thread
    // shared by the process (two threads; one when the tree has no balanced split or the
    // helper is busy with another factorisation). Throws std::invalid_argument.
    explicit SparseLU(std::shared_ptr<const SymbolicLU> symbolic,
                      double pivot_tolerance = kDefaultPivotTolerance, int threads = 1);
    ~SparseLU();
    SparseLU(SparseLU&&) noexcept;
    SparseLU& operator=(SparseLU&&) noexcept;

    // Factorises the matrix with values[0 .. count) in the analysed CSR order
    // (count = symbolic().nnz_matrix()). Throws std::invalid_argument on a size mismatch
    // or a NaN/inf value (the previous factors are kept), and SingularMatrixError on a bad
    // pivot (naming the row); after that, solve() throws until a factor() succeeds. A failed
    // factor() leaves the object ready for the next. One object must not be used from two
    // threads at once (the Python binding serialises calls on one object).
    void factor(const double* values, std::size_t count);

    // Solves A x = b in place for `nrhs` right-hand sides stored row-major as (n, nrhs):
    // count = n * nrhs. Throws std::invalid_argument on a size mismatch or before a
    // successful factor().
    void solve(double* b, std::size_t count, index_t nrhs = 1) const;

    const SymbolicLU& symbolic() const;
    bool factored() const;
    double pivot_tolerance() const;
    // Threads a factorisation runs on (1 or 2).
    int threads() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fpscore
