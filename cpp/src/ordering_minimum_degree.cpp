// Greedy minimum degree on an explicit elimination graph. Eliminating v joins its
// neighbours into a clique; the next pivot is a node of least current degree
// (ties to the lowest index, so the ordering is deterministic).
#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

#include "fpscore/ordering.hpp"

namespace fpscore {

std::vector<index_t> minimum_degree_order(const Graph& g) {
    const index_t n = g.n;
    std::vector<std::vector<index_t>> adj(static_cast<size_t>(n));
    std::set<std::pair<index_t, index_t>> by_degree;  // (degree, node)
    for (index_t v = 0; v < n; ++v) {
        adj[v].assign(g.adj.begin() + g.ptr[v], g.adj.begin() + g.ptr[v + 1]);
        by_degree.emplace(static_cast<index_t>(adj[v].size()), v);
    }
    std::vector<index_t> perm;
    perm.reserve(static_cast<size_t>(n));
    std::vector<index_t> merged;
    while (!by_degree.empty()) {
        const index_t v = by_degree.begin()->second;
        by_degree.erase(by_degree.begin());
        perm.push_back(v);
        const std::vector<index_t> clique = std::move(adj[v]);
        adj[v].clear();
        for (const index_t u : clique) {
            auto& au = adj[u];
            by_degree.erase({static_cast<index_t>(au.size()), u});
            merged.clear();
            std::set_union(au.begin(), au.end(), clique.begin(), clique.end(),
                           std::back_inserter(merged));
            merged.erase(std::remove_if(merged.begin(), merged.end(),
                                        [&](index_t w) { return w == u || w == v; }),
                         merged.end());
            au.swap(merged);
            by_degree.emplace(static_cast<index_t>(au.size()), u);
        }
    }
    return perm;
}

}  // namespace fpscore
