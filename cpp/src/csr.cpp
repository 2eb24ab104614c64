#include "fpscore/csr.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace fpscore {

void validate_csr(const CsrView& a) {
    if (a.n < 0) throw std::invalid_argument("matrix order must be >= 0, got " + std::to_string(a.n));
    if (a.n == 0) return;
    if (a.indptr == nullptr || (a.indptr[a.n] > 0 && a.indices == nullptr))
        throw std::invalid_argument("CSR arrays must not be null");
    if (a.indptr[0] != 0)
        throw std::invalid_argument("CSR indptr[0] must be 0, got " + std::to_string(a.indptr[0]));
    for (index_t i = 0; i < a.n; ++i) {
        if (a.indptr[i + 1] < a.indptr[i])
            throw std::invalid_argument("CSR indptr must be non-decreasing (row " + std::to_string(i) + ")");
    }
    const offset_t nnz = a.indptr[a.n];
    for (offset_t p = 0; p < nnz; ++p) {
        if (a.indices[p] < 0 || a.indices[p] >= a.n)
            throw std::invalid_argument("CSR column index " + std::to_string(a.indices[p]) +
                                        " out of range [0, " + std::to_string(a.n) + ")");
    }
}

namespace {

// Builds a Graph from per-node neighbour lists that may hold duplicates.
Graph graph_from_lists(index_t n, std::vector<std::vector<index_t>>& lists) {
    Graph g;
    g.n = n;
    g.ptr.assign(static_cast<size_t>(n) + 1, 0);
    for (index_t v = 0; v < n; ++v) {
        auto& l = lists[v];
        std::sort(l.begin(), l.end());
        l.erase(std::unique(l.begin(), l.end()), l.end());
        g.ptr[v + 1] = g.ptr[v] + static_cast<offset_t>(l.size());
    }
    g.adj.reserve(static_cast<size_t>(g.ptr[n]));
    for (index_t v = 0; v < n; ++v) g.adj.insert(g.adj.end(), lists[v].begin(), lists[v].end());
    return g;
}

}  // namespace

Graph symmetric_graph(const CsrView& a) {
    // Both directions of every off-diagonal entry, bucketed by row, then each row sorted
    // and deduplicated in place.
    const auto n = static_cast<size_t>(a.n);
    std::vector<offset_t> start(n + 1, 0);
    for (index_t i = 0; i < a.n; ++i)
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p)
            if (a.indices[p] != i) {
                ++start[i + 1];
                ++start[a.indices[p] + 1];
            }
    for (size_t i = 0; i < n; ++i) start[i + 1] += start[i];
    std::vector<index_t> both(static_cast<size_t>(start[n]));
    std::vector<offset_t> next(start.begin(), start.end() - 1);
    for (index_t i = 0; i < a.n; ++i)
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
            const index_t j = a.indices[p];
            if (j == i) continue;
            both[next[i]++] = j;
            both[next[j]++] = i;
        }
    Graph g;
    g.n = a.n;
    g.ptr.assign(n + 1, 0);
    g.adj.reserve(both.size());
    for (size_t i = 0; i < n; ++i) {
        const auto first = both.begin() + start[i], last = both.begin() + start[i + 1];
        std::sort(first, last);
        g.adj.insert(g.adj.end(), first, std::unique(first, last));
        g.ptr[i + 1] = static_cast<offset_t>(g.adj.size());
    }
    return g;
}

Graph induced_subgraph(const Graph& g, const std::vector<index_t>& nodes) {
    std::vector<index_t> local(static_cast<size_t>(g.n), -1);
    const auto m = static_cast<index_t>(nodes.size());
    for (index_t k = 0; k < m; ++k) local[nodes[k]] = k;
    std::vector<std::vector<index_t>> lists(static_cast<size_t>(m));
    for (index_t k = 0; k < m; ++k) {
        const index_t v = nodes[k];
        for (offset_t p = g.ptr[v]; p < g.ptr[v + 1]; ++p) {
            const index_t u = local[g.adj[p]];
            if (u >= 0) lists[k].push_back(u);
        }
    }
    return graph_from_lists(m, lists);
}

}  // namespace fpscore
