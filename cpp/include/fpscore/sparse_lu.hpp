// Sparse Gaussian elimination with static (diagonal) pivoting.
//
// The work is split as in KLU: SymbolicLU orders the matrix and computes the fill
// pattern of L and U once per sparsity pattern; SparseLU then factorises any
// number of matrices with that pattern, touching only values.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "fpscore/csr.hpp"
#include "fpscore/ordering.hpp"

namespace fpscore {

// The ordering and the fill pattern of the LU factors of P A Pᵀ.
//
// The pattern is that of the Cholesky factor of P (A + Aᵀ) Pᵀ, so it holds the LU
// factors of any matrix with A's pattern when the pivots are taken from the diagonal.
// Factor row i is stored as [L part, ascending] [diagonal] [U part, ascending].
class SymbolicLU {
public:
    // Analyses `a` (only its pattern is read) with the given ordering.
    explicit SymbolicLU(const CsrView& a, Ordering ordering = Ordering::Automatic,
                        const std::optional<GridShape>& grid = std::nullopt);
    // Analyses `a` with a user permutation (perm[new] = old).
    SymbolicLU(const CsrView& a, std::vector<index_t> perm);

    index_t n() const { return n_; }
    offset_t nnz_matrix() const { return static_cast<offset_t>(matrix_to_factor_.size()); }
    offset_t nnz_factors() const { return static_cast<offset_t>(cols_.size()); }
    // Floating-point operations of one numeric factorisation (a multiply-add counts two).
    double factor_flops() const { return factor_flops_; }
    Ordering ordering() const { return ordering_; }

    const std::vector<index_t>& permutation() const { return perm_; }  // perm[new] = old
    const std::vector<offset_t>& row_ptr() const { return row_ptr_; }
    const std::vector<index_t>& cols() const { return cols_; }
    const std::vector<offset_t>& diag() const { return diag_; }
    // Supernodes: rows k..supernode_end()[k]-1 have U patterns that differ only by their
    // leading entries (U(k) = {k+1} ∪ U(k+1)), so the batched kernels update from them as
    // one dense block.
    const std::vector<index_t>& supernode_end() const { return supernode_end_; }
    // Position in the factor values of each entry of A, in A's CSR order.
    const std::vector<offset_t>& matrix_to_factor() const { return matrix_to_factor_; }
    // The CSR row pointer of the analysed matrix (to check that values fit it).
    const std::vector<offset_t>& matrix_indptr() const { return matrix_indptr_; }

private:
    void analyse(const CsrView& a, const Graph& graph);

    index_t n_ = 0;
    Ordering ordering_ = Ordering::Natural;
    std::vector<index_t> perm_;
    std::vector<offset_t> row_ptr_;
    std::vector<index_t> cols_;
    std::vector<offset_t> diag_;
    std::vector<index_t> supernode_end_;
    std::vector<offset_t> matrix_to_factor_;
    std::vector<offset_t> matrix_indptr_;
    double factor_flops_ = 0.0;
};

// Numeric LU factors of one matrix with a SymbolicLU's pattern.
class SparseLU {
public:
    // A pivot u_ii with |u_ii| <= pivot_tolerance * max_j |a_ij| is singular.
    static constexpr double kDefaultPivotTolerance = 1e-13;

    explicit SparseLU(std::shared_ptr<const SymbolicLU> symbolic,
                      double pivot_tolerance = kDefaultPivotTolerance);

    // Factorises the matrix with values `a_values` in the analysed CSR order
    // (nnz_matrix() entries). Throws SingularMatrixError on a bad pivot.
    void factor(const double* a_values);

    // For callers that assemble straight into the factor layout: zero the values,
    // add each entry at matrix_to_factor()[p] of values(), then call factor_assembled().
    std::vector<double>& values() { return values_; }
    const std::vector<double>& values() const { return values_; }
    void factor_assembled();

    // Solves A x = b in place for `nrhs` right-hand sides stored row-major as (n, nrhs).
    // `work` needs n * nrhs entries; the overload without it allocates.
    void solve(double* b, index_t nrhs, double* work) const;
    void solve(double* b, index_t nrhs = 1) const;

    const SymbolicLU& symbolic() const { return *symbolic_; }
    std::shared_ptr<const SymbolicLU> symbolic_ptr() const { return symbolic_; }
    bool factored() const { return factored_; }
    double pivot_tolerance() const { return pivot_tolerance_; }

private:
    std::shared_ptr<const SymbolicLU> symbolic_;
    double pivot_tolerance_;
    std::vector<double> values_;
    std::vector<double> dense_row_;  // scatter workspace of one factor row
    std::vector<double> tail_;       // a supernode's combined update
    bool factored_ = false;
};

}  // namespace fpscore
