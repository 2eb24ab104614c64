// Non-owning views of compressed sparse row (CSR) matrices and patterns.
#pragma once

#include <cstdint>
#include <vector>

namespace fpscore {

using index_t = std::int32_t;   // row / column indices
using offset_t = std::int64_t;  // positions in the index and value arrays

// A square CSR matrix of order n: row i holds positions [indptr[i], indptr[i+1]).
// Columns need not be sorted; duplicate entries are summed.
struct CsrView {
    index_t n = 0;
    const offset_t* indptr = nullptr;  // n + 1 entries
    const index_t* indices = nullptr;  // indptr[n] entries
    offset_t nnz() const { return n > 0 ? indptr[n] : 0; }
};

// An owning symmetric adjacency structure (no self loops, sorted, unique): the
// graph that orderings work on.
struct Graph {
    index_t n = 0;
    std::vector<offset_t> ptr;  // n + 1 entries
    std::vector<index_t> adj;

    index_t degree(index_t v) const { return static_cast<index_t>(ptr[v + 1] - ptr[v]); }
};

// Checks that the view is a well-formed square CSR pattern; throws std::invalid_argument.
void validate_csr(const CsrView& a);

// The graph of A + Aᵀ without the diagonal.
Graph symmetric_graph(const CsrView& a);

// The subgraph induced by `nodes` (renumbered 0..nodes.size()-1 in the given order).
Graph induced_subgraph(const Graph& g, const std::vector<index_t>& nodes);

}  // namespace fpscore
