// Non-owning views of compressed sparse row (CSR) patterns: the input of the sparse solvers.
#pragma once

#include <cstdint>

namespace fpscore {

using index_t = std::int32_t;   // row / column indices
using offset_t = std::int64_t;  // positions in the index and value arrays

// A square CSR pattern of order n: row i holds columns indices[indptr[i] .. indptr[i+1]).
// Columns need not be sorted; duplicate entries are summed. The arrays are the caller's and
// must outlive the call they are passed to; their sizes are n + 1 and indptr[n].
struct CsrView {
    index_t n = 0;
    const offset_t* indptr = nullptr;  // n + 1 entries, indptr[0] = 0, non-decreasing
    const index_t* indices = nullptr;  // indptr[n] entries in [0, n)
    offset_t nnz() const { return n > 0 ? indptr[n] : 0; }
};

// Checks that the view is a well-formed square CSR pattern; throws std::invalid_argument.
void validate_csr(const CsrView& a);

}  // namespace fpscore
