// The symmetric adjacency structure that orderings and the symbolic analysis work on.
#pragma once

#include <vector>

#include "fpscore/sparse/csr.hpp"

namespace fpscore {

// An owning symmetric adjacency structure (no self loops, sorted, unique).
struct Graph {
    index_t n = 0;
    std::vector<offset_t> ptr;  // n + 1 entries
    std::vector<index_t> adj;

    index_t degree(index_t v) const { return static_cast<index_t>(ptr[v + 1] - ptr[v]); }
};

// The graph of A + Aᵀ without the diagonal.
Graph symmetric_graph(const CsrView& a);

// The subgraph induced by `nodes` (renumbered 0..nodes.size()-1 in the given order).
Graph induced_subgraph(const Graph& g, const std::vector<index_t>& nodes);

}  // namespace fpscore
