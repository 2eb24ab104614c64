#include "sparse/graph.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

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
    // A branch-free scan (it vectorises); the culprit is looked for only when there is one.
    auto out_of_range = [&](offset_t p) {
        return static_cast<std::uint32_t>(a.indices[p]) >= static_cast<std::uint32_t>(a.n);
    };
    bool any_out_of_range = false;
    for (offset_t p = 0; p < nnz; ++p) any_out_of_range |= out_of_range(p);
    if (!any_out_of_range) return;
    for (offset_t p = 0; p < nnz; ++p) {
        if (out_of_range(p))
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

// Writes [first, last) sorted and without repeats to `out` (which may be `first` or lie
// before it); returns the end of the output. Graph rows hold a few entries and arrive
// nearly sorted, so insertion beats a general sort.
index_t* sort_unique_short(const index_t* first, const index_t* last, index_t* out) {
    if (last - first > 32) {
        index_t* const end = out == first ? out + (last - first) : std::copy(first, last, out);
        std::sort(out, end);
        return std::unique(out, end);
    }
    index_t* end = out;  // [out, end) is sorted and unique; end never passes the next input
    for (; first != last; ++first) {
        const index_t v = *first;
        index_t* at = end;
        while (at != out && *(at - 1) > v) --at;
        if (at != out && *(at - 1) == v) continue;
        for (index_t* p = end; p != at; --p) *p = *(p - 1);
        *at = v;
        ++end;
    }
    return end;
}

// Whether every row is strictly ascending and the pattern is symmetric. Rows are visited
// in order, so the entries (j, i) above the diagonal of row j are met as (i, j), i ascending:
// each must be the next one of row j not yet met.
bool sorted_and_symmetric(const CsrView& a) {
    std::vector<offset_t> next_above(static_cast<size_t>(a.n));  // by row: the next entry to meet
    for (index_t i = 0; i < a.n; ++i) {
        const offset_t end = a.indptr[i + 1];
        offset_t p = a.indptr[i];
        for (index_t previous = -1; p < end && a.indices[p] < i; previous = a.indices[p++]) {
            const index_t j = a.indices[p];
            if (j <= previous || next_above[j] == a.indptr[j + 1] || a.indices[next_above[j]] != i) return false;
            ++next_above[j];
        }
        if (p < end && a.indices[p] == i) ++p;
        next_above[i] = p;
        for (; p + 1 < end; ++p)
            if (a.indices[p] >= a.indices[p + 1]) return false;
    }
    for (index_t j = 0; j < a.n; ++j)
        if (next_above[j] != a.indptr[j + 1]) return false;
    return true;
}

}  // namespace

Graph symmetric_graph(const CsrView& a) {
    if (sorted_and_symmetric(a)) {  // the usual case: the pattern without its diagonal
        Graph g;
        g.n = a.n;
        g.ptr.resize(static_cast<size_t>(a.n) + 1);
        g.ptr[0] = 0;
        g.adj.resize(static_cast<size_t>(a.nnz()));
        offset_t kept = 0;
        for (index_t i = 0; i < a.n; ++i) {
            for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
                g.adj[kept] = a.indices[p];
                kept += a.indices[p] != i;
            }
            g.ptr[i + 1] = kept;
        }
        g.adj.resize(static_cast<size_t>(kept));
        return g;
    }
    // Both directions of every off-diagonal entry, bucketed by row, then each row sorted and
    // deduplicated in place. While filling, ptr[i] is row i's cursor; it ends at row i+1's start.
    const auto n = static_cast<size_t>(a.n);
    Graph g;
    g.n = a.n;
    g.ptr.assign(n + 1, 0);
    for (index_t i = 0; i < a.n; ++i)
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p)
            if (a.indices[p] != i) {
                ++g.ptr[i];
                ++g.ptr[a.indices[p]];
            }
    offset_t total = 0;
    for (size_t i = 0; i < n; ++i) total += std::exchange(g.ptr[i], total);
    g.adj.resize(static_cast<size_t>(total));
    for (index_t i = 0; i < a.n; ++i)
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
            const index_t j = a.indices[p];
            if (j == i) continue;
            g.adj[g.ptr[i]++] = j;
            g.adj[g.ptr[j]++] = i;
        }
    // Rows shrink as repeats go; each moves down to where the previous one ended.
    offset_t first = 0, kept = 0;
    for (size_t i = 0; i < n; ++i) {
        const offset_t last = g.ptr[i];
        g.ptr[i] = kept;
        kept = sort_unique_short(g.adj.data() + first, g.adj.data() + last, g.adj.data() + kept) - g.adj.data();
        first = last;
    }
    g.ptr[n] = kept;
    g.adj.resize(static_cast<size_t>(kept));
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
