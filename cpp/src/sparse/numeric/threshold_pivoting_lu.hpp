// Sparse LU with threshold partial pivoting (private header): the robust fallback for matrices
// whose diagonal pivots are unsafe. Gilbert–Peierls left-looking column LU, as in KLU.
#pragma once
#include <cstddef>
#include <string>
#include <vector>
#include "fpscore/sparse/csr.hpp"

#include "common/aligned_vector.hpp"

namespace fpscore::detail {

// LU factors P·A·Q = L·U with Q a given fill-reducing column order and P chosen by threshold partial
// pivoting: in column k (= column_order[k] of A) the entry in row column_order[k] is taken as pivot when
// its magnitude is >= threshold · the largest candidate, else the largest candidate. Left-looking
// (Gilbert–Peierls): each column of L and U by a sparse triangular solve whose pattern comes from a
// depth-first search.
class ThresholdPivotingLU {
public:
    // a: n×n CSR pattern (columns sorted, no duplicates); column_order: a permutation of 0..n-1;
    // threshold in (0, 1]; pivot_tolerance >= 0: a column whose largest candidate is <= pivot_tolerance ·
    // (largest |entry| of that column of A) — or exactly 0 — is singular. Throws std::invalid_argument
    // on a malformed order or parameters. Nothing is factorised yet.
    ThresholdPivotingLU(const CsrView& a, std::vector<index_t> column_order, double threshold = 0.1,
                        double pivot_tolerance = 0.0);
    // Factorises the values (a.nnz() of them, in a's CSR order). Callable again with new values on the same
    // pattern (pivots chosen anew). Throws std::invalid_argument on count mismatch or NaN/inf, and
    // fpscore::SingularMatrixError (fpscore/errors.hpp) naming the column (of A) that has no acceptable
    // pivot; after a failure solve() throws until a factor() succeeds, and the object stays usable.
    void factor(const double* values, std::size_t count);
    // Solves A x = b in place; b row-major (n, nrhs), count = n * nrhs. Throws std::invalid_argument on a
    // size mismatch or before a successful factor().
    void solve(double* b, std::size_t count, index_t nrhs = 1) const;
    bool factored() const;
    offset_t nnz_factors() const;          // entries of L + U of the last factorisation (unit diag of L not stored)
    index_t off_diagonal_pivots() const;   // pivots of the last factorisation not at the preferred row
    double factor_flops() const;           // flops of the last factorisation (a multiply-add is two)

private:
    // The rows reachable from column j of A in the graph of the L columns found so far, written to
    // reach_[top..n) in topological order; returns top.
    index_t reach(index_t j, index_t column);
    // Shortens the searches through the L columns that column k (pivoted on pivot_row) makes redundant.
    void prune(index_t k, index_t pivot_row);
    // Throws SingularMatrixError for column k after zeroing the work vector on reach_[top..n).
    [[noreturn]] void fail(index_t k, index_t top, const std::string& why);

    index_t n_ = 0;
    offset_t nnz_ = 0;
    std::vector<index_t> q_;  // column_order: column k of P·A·Q is column q_[k] of A
    double threshold_ = 0.1;
    double pivot_tolerance_ = 0.0;

    // A by columns: rows a_rows_[a_colptr_[j] .. a_colptr_[j+1]) of column j, whose values sit at
    // a_source_[·] of the CSR value array.
    std::vector<offset_t> a_colptr_;
    std::vector<index_t> a_rows_;
    std::vector<offset_t> a_source_;
    aligned_vector<double> a_values_;  // gathered in CSC order by factor()

    // L (unit lower, diagonal not stored) and U (diagonal apart) by columns of P·A·Q. During factor() L's
    // row indices are rows of A; afterwards they are pivot steps.
    std::vector<offset_t> l_colptr_, u_colptr_;
    aligned_vector<index_t> l_rows_, u_rows_;
    aligned_vector<double> l_values_, u_values_;
    aligned_vector<double> u_diagonal_;
    std::vector<offset_t> search_end_;  // the depth-first search follows L(:, s) up to search_end_[s]
    std::vector<char> pruned_;          // whether L(:, s) has been pruned (it is done at most once)
    std::vector<index_t> row_of_step_;  // P: step k pivots on row row_of_step_[k] of A
    std::vector<index_t> step_of_row_;  // its inverse; -1 for rows not pivoted yet (during factor())

    // Per-factor() work, sized once: the dense work column (zero between columns), the depth-first
    // search's marks, stack, per-level cursors and output.
    aligned_vector<double> work_;
    std::vector<index_t> mark_;
    std::vector<index_t> stack_;
    std::vector<offset_t> cursor_;
    std::vector<index_t> reach_;

    bool factored_ = false;
    index_t off_diagonal_pivots_ = 0;
    double flops_ = 0.0;
};

}  // namespace fpscore::detail
