// The symbolic plan of an LU factorisation: everything the numeric kernels read, as flat
// arrays (private header). A SymbolicLU owns one; a device backend can copy these arrays
// once per pattern and run its own numeric factorisations on them.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "fpscore/sparse/csr.hpp"
#include "fpscore/sparse/ordering.hpp"

namespace fpscore::detail {

// How the numeric factorisations of interleaved packs (PackedLU, BatchedLU) eliminate.
// Dense fronts (merged supernodes, multifrontal) pay off on large problems; on small ones
// their fronts are tiny and row by row is faster. SparseLU (one matrix) always eliminates
// row by row, so its analysis plans no fronts.
enum class Elimination {
    Automatic,  // dense fronts from kDenseFrontsFrom unknowns on
    RowByRow,
    DenseFronts,
};

// Measured on 5-point grids with the row-by-row kernel on row pairs, for interleaved packs:
// dense fronts win from 128² on.
inline constexpr index_t kDenseFrontsFrom = 128 * 128;

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

// The ordering and the fill pattern of the LU factors of P A Pᵀ.
//
// The pattern is that of the Cholesky factor of P (A + Aᵀ) Pᵀ, so it holds the LU
// factors of any matrix with A's pattern when the pivots are taken from the diagonal.
// Factor row i is stored as [L part, ascending] [diagonal] [U part, ascending].
struct SymbolicPlan {
    index_t n = 0;
    Ordering ordering = Ordering::Natural;  // what was used ("auto" resolved)
    std::vector<index_t> perm;              // perm[new] = old
    std::vector<offset_t> row_ptr;          // n + 1: factor row i is [row_ptr[i], row_ptr[i+1])
    std::vector<index_t> cols;              // column of each factor entry
    std::vector<offset_t> diag;             // n: position of each row's diagonal
    // Supernodes: rows k..supernode_end[k]-1 have U patterns that differ only by their
    // leading entries (U(k) = {k+1} ∪ U(k+1)), possibly after merging small ones with
    // explicit zeros; each is eliminated as one dense front.
    std::vector<index_t> supernode_end;
    FrontalPlan frontal;                     // empty (no supernodes) for row-by-row elimination
    std::vector<offset_t> matrix_to_factor;  // factor position of each entry of A, in A's CSR order
    std::vector<offset_t> matrix_indptr;     // A's CSR row pointer (to check that values fit it)
    double factor_flops = 0.0;               // of one numeric factorisation (a multiply-add counts two)
    offset_t nnz_structural = 0;             // L + U entries in the exact fill pattern (before merging)

    offset_t nnz_matrix() const { return static_cast<offset_t>(matrix_to_factor.size()); }
    // Stored entries of L + U (L's unit diagonal not stored), merged supernodes' zeros included.
    offset_t nnz_factors() const { return static_cast<offset_t>(cols.size()); }
    bool multifrontal() const { return frontal.supernodes > 0; }
};

// Orders and analyses the pattern of `a` (values are not read).
std::shared_ptr<const SymbolicPlan> analyse_pattern(const CsrView& a, Ordering ordering,
                                                    const std::optional<GridShape>& grid, Elimination elimination);
// Analyses `a` with a user permutation (perm[new] = old).
std::shared_ptr<const SymbolicPlan> analyse_pattern(const CsrView& a, std::vector<index_t> perm,
                                                    Elimination elimination);

}  // namespace fpscore::detail
