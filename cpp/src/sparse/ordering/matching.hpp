// Maximum-product transversal and scaling (private header): the static-pivoting
// preprocessing that puts large entries on the diagonal before the fill-reducing ordering.
#pragma once
#include <cstddef>
#include <vector>
#include "fpscore/sparse/csr.hpp"

namespace fpscore::detail {

// A row permutation that puts a maximum-product transversal on the diagonal, with the row and
// column scaling from the dual variables of that assignment problem.
struct MatchingScaling {
    std::vector<index_t> row_of_column;  // n entries: column j is matched to row row_of_column[j]
    std::vector<double> row_scale;       // n entries, finite, > 0
    std::vector<double> column_scale;    // n entries, finite, > 0
};

// a: an n×n CSR pattern (columns sorted, no duplicates), values: its a.nnz() values (`count`).
// Explicit zeros are not edges. Throws fpscore::SingularMatrixError (fpscore/errors.hpp) when no
// perfect matching on the nonzero entries exists (structurally singular; say how many rows could not be
// matched and name one), std::invalid_argument on count != a.nnz() or a non-finite value.
// With B = diag(row_scale) · A · diag(column_scale):
//   |B[row_of_column[j], j]| = 1 and |B[i, j]| <= 1 for every entry (both to a few ulps),
//   and the product over j of |A[row_of_column[j], j]| is maximal over all perfect matchings.
// The scales lie in [e^-700, e^700]. Scales satisfying the conditions on B are found whenever
// some within that range exist; they need not (sparse rows chain the constraints, so entries
// spanning 1e±150 can need row scales 1e900 apart), and then they are clamped to it.
MatchingScaling max_product_matching(const CsrView& a, const double* values, std::size_t count);

}  // namespace fpscore::detail
