// Sparse Gaussian elimination with static (diagonal) pivoting.
//
// The work is split as in KLU: SymbolicLU orders the matrix and computes the fill
// pattern of L and U once per sparsity pattern; SparseLU then factorises any
// number of matrices with that pattern, touching only values.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "fpscore/aligned_vector.hpp"
#include "fpscore/csr.hpp"
#include "fpscore/ordering.hpp"

namespace fpscore {

// The multifrontal schedule of a factorisation: one dense front per supernode J, with
// index set I_J = J ∪ T_J (T_J: the common U pattern of J's rows beyond J). Children hand
// their dense Schur complements (T_C × T_C) to the parent front (extend-add).
struct FrontalPlan {
    index_t supernodes = 0;
    std::vector<index_t> start;        // supernode J holds rows start[J] .. start[J+1]-1
    std::vector<index_t> tail;         // |T_J|
    std::vector<offset_t> child_ptr;   // children of J: child[child_ptr[J] .. child_ptr[J+1])
    std::vector<index_t> child;
    std::vector<offset_t> tail_ptr;    // per J, |T_J| entries from tail_ptr[J] in the arrays below
    std::vector<index_t> relative;     // position of T_J[a] in the parent's index set I_parent
    std::vector<offset_t> lpanel;      // factor position of row T_J[a]'s entry in column start[J]
    std::vector<offset_t> update_at;   // offset (in elements) of J's Schur complement in the arena
    offset_t arena = 0;                // elements of the update arena
    index_t max_front = 0;             // largest |I_J|
};

// How the numeric factorisations of interleaved packs (PackedLU, BatchedLU) eliminate.
// Dense fronts (merged supernodes, multifrontal) pay off on large problems; on small ones
// their fronts are tiny and row by row is faster. SparseLU (one matrix) always eliminates
// row by row, whatever the analysis planned.
enum class Elimination {
    Automatic,  // dense fronts from kDenseFrontsFrom unknowns on
    RowByRow,
    DenseFronts,
};


// Measured on 5-point grids with the row-by-row kernel on row pairs, for interleaved packs:
// dense fronts win from 128² on.
inline constexpr index_t kDenseFrontsFrom = 128 * 128;

// The ordering and the fill pattern of the LU factors of P A Pᵀ.
//
// The pattern is that of the Cholesky factor of P (A + Aᵀ) Pᵀ, so it holds the LU
// factors of any matrix with A's pattern when the pivots are taken from the diagonal.
// Factor row i is stored as [L part, ascending] [diagonal] [U part, ascending].
class SymbolicLU {
public:
    // Analyses `a` (only its pattern is read) with the given ordering.
    explicit SymbolicLU(const CsrView& a, Ordering ordering = Ordering::Automatic,
                        const std::optional<GridShape>& grid = std::nullopt,
                        Elimination elimination = Elimination::Automatic);
    // Analyses `a` with a user permutation (perm[new] = old).
    SymbolicLU(const CsrView& a, std::vector<index_t> perm, Elimination elimination = Elimination::Automatic);

    index_t n() const { return n_; }
    offset_t nnz_matrix() const { return static_cast<offset_t>(matrix_to_factor_.size()); }
    // Stored entries of L + U (L's unit diagonal not stored), including the explicit zeros
    // that merging small supernodes adds.
    offset_t nnz_factors() const { return static_cast<offset_t>(cols_.size()); }
    // Entries of L + U in the exact fill pattern (before merging supernodes).
    offset_t nnz_structural() const { return nnz_structural_; }
    // Floating-point operations of one numeric factorisation (a multiply-add counts two).
    double factor_flops() const { return factor_flops_; }
    Ordering ordering() const { return ordering_; }

    const std::vector<index_t>& permutation() const { return perm_; }  // perm[new] = old
    const std::vector<offset_t>& row_ptr() const { return row_ptr_; }
    const std::vector<index_t>& cols() const { return cols_; }
    const std::vector<offset_t>& diag() const { return diag_; }
    // Supernodes: rows k..supernode_end()[k]-1 have U patterns that differ only by their
    // leading entries (U(k) = {k+1} ∪ U(k+1)), possibly after merging small ones with
    // explicit zeros; each is eliminated as one dense front.
    const std::vector<index_t>& supernode_end() const { return supernode_end_; }
    // The multifrontal schedule; empty (no supernodes) when the row-by-row kernel is used.
    const FrontalPlan& frontal() const { return frontal_; }
    bool multifrontal() const { return frontal_.supernodes > 0; }
    // Position in the factor values of each entry of A, in A's CSR order.
    const std::vector<offset_t>& matrix_to_factor() const { return matrix_to_factor_; }
    // The CSR row pointer of the analysed matrix (to check that values fit it).
    const std::vector<offset_t>& matrix_indptr() const { return matrix_indptr_; }

private:
    void analyse(const CsrView& a, const Graph& graph, Elimination elimination);
    void plan_fronts();

    index_t n_ = 0;
    Ordering ordering_ = Ordering::Natural;
    std::vector<index_t> perm_;
    std::vector<offset_t> row_ptr_;
    std::vector<index_t> cols_;
    std::vector<offset_t> diag_;
    std::vector<index_t> supernode_end_;
    FrontalPlan frontal_;
    std::vector<offset_t> matrix_to_factor_;
    std::vector<offset_t> matrix_indptr_;
    double factor_flops_ = 0.0;
    offset_t nnz_structural_ = 0;
};

namespace detail {
struct PivotFailure;

// The supernode blocks (a, b) each group of rows subtracts in one phase of a row-by-row
// kernel, recorded by the first factorisation and replayed by the next (finding them costs
// about a sixth of a one-matrix factorisation at 32², a sixteenth of a pack's).
struct BlockSchedule {
    std::vector<index_t> blocks;          // a, b pairs
    std::vector<unsigned char> members;   // packs: the rows of the group holding each block (bits)
    std::vector<offset_t> group;          // group k's pairs: [group[k], group[k + 1])
    std::vector<offset_t> after;          // each row's L position once its group's blocks are done
    bool complete = false;
};
}

// Numeric LU factors of one matrix with a SymbolicLU's pattern.
//
// Rows are eliminated in groups of 8 (AVX-512) or 4, the group's work rows interleaved so
// that each update of the group is one vector operation (rowwise_single.hpp). Measured on
// 5-point grids up to 512², this beats dense fronts for one matrix at every size, so a
// SymbolicLU planned for dense fronts is eliminated row by row as well (its merged
// supernodes only add explicit zeros).
class SparseLU {
public:
    // A pivot u_ii with |u_ii| <= pivot_tolerance * max_j |a_ij| is singular.
    static constexpr double kDefaultPivotTolerance = 1e-13;

    // threads >= 2 (0: all cores) factorises the two halves of the elimination tree below
    // its top separator at once, the second on a helper thread shared by the process (two
    // threads; one when the tree has no balanced split or the helper is busy with another
    // factorisation).
    explicit SparseLU(std::shared_ptr<const SymbolicLU> symbolic,
                      double pivot_tolerance = kDefaultPivotTolerance, int threads = 1);

    // Factorises the matrix with values `a_values` in the analysed CSR order
    // (nnz_matrix() entries). Throws SingularMatrixError on a bad pivot.
    void factor(const double* a_values);

    // For callers that assemble straight into the factor layout: zero the values,
    // add each entry at matrix_to_factor()[p] of values(), then call factor_assembled()
    // (one thread).
    aligned_vector<double>& values() { return values_; }
    const aligned_vector<double>& values() const { return values_; }
    void factor_assembled();

    // Solves A x = b in place for `nrhs` right-hand sides stored row-major as (n, nrhs).
    // `work` needs n * nrhs entries; the overload without it allocates.
    void solve(double* b, index_t nrhs, double* work) const;
    void solve(double* b, index_t nrhs = 1) const;

    const SymbolicLU& symbolic() const { return *symbolic_; }
    std::shared_ptr<const SymbolicLU> symbolic_ptr() const { return symbolic_; }
    bool factored() const { return factored_; }
    double pivot_tolerance() const { return pivot_tolerance_; }
    // Threads a factorisation from A's values runs on (1 or 2).
    int threads() const { return split_top_ > 0 ? 2 : 1; }

private:
    // Factorises from A's values (CSR order) when given, else from values().
    void factor_from(const double* a_values);
    // The two-thread factorisation from A's values.
    detail::PivotFailure factor_two_sides(const double* a_values);

    std::shared_ptr<const SymbolicLU> symbolic_;
    double pivot_tolerance_;
    aligned_vector<double> values_;
    aligned_vector<double> work_;        // the interleaved work rows of a group (zero between uses)
    aligned_vector<double> inv_pivots_;  // reciprocal pivots
    // Two threads: side 0 rows [0, split_mid_), side 1 [split_mid_, split_top_), then the
    // separator (split_top_ = 0: one thread).
    index_t split_mid_ = 0, split_top_ = 0;
    aligned_vector<double> side_work_;   // side 1's work rows
    aligned_vector<double> partial_;     // side 1's partial sums of the separator rows
    aligned_vector<double> side_norms_;  // row norms of the separator rows, per side
    // Block schedules: rows (all, or side 0), side 1's rows, each side's columns of the
    // separator rows, the separator's own columns.
    detail::BlockSchedule schedules_[5];
    bool factored_ = false;
};

}  // namespace fpscore
