#include "sparse/ordering/graph_search.hpp"

#include <algorithm>

namespace fpscore::detail {

std::vector<index_t> bfs_levels(const Graph& g, index_t root, const std::vector<int>& member,
                                int stamp, std::vector<index_t>& level, bool order_by_degree) {
    std::vector<index_t> order{root};
    std::vector<index_t> next;
    level[root] = 0;
    // `visited` is level >= 0 for this search: reset the levels of the members we touch.
    for (size_t head = 0; head < order.size(); ++head) {
        const index_t v = order[head];
        next.clear();
        for (offset_t p = g.ptr[v]; p < g.ptr[v + 1]; ++p) {
            const index_t u = g.adj[p];
            if (member[u] != stamp || level[u] >= 0) continue;
            level[u] = level[v] + 1;
            next.push_back(u);
        }
        if (order_by_degree)
            std::stable_sort(next.begin(), next.end(),
                             [&](index_t a, index_t b) { return g.degree(a) < g.degree(b); });
        order.insert(order.end(), next.begin(), next.end());
    }
    return order;
}

index_t pseudo_peripheral_node(const Graph& g, index_t root, const std::vector<int>& member,
                               int stamp, std::vector<index_t>& level) {
    index_t eccentricity = -1;
    for (int sweep = 0; sweep < 8; ++sweep) {
        const auto order = bfs_levels(g, root, member, stamp, level);
        const index_t depth = level[order.back()];
        // Among the last level, continue from a node of least degree.
        index_t best = order.back();
        for (auto it = order.rbegin(); it != order.rend() && level[*it] == depth; ++it)
            if (g.degree(*it) < g.degree(best)) best = *it;
        for (const index_t v : order) level[v] = -1;
        if (depth <= eccentricity) break;
        eccentricity = depth;
        root = best;
    }
    return root;
}

}  // namespace fpscore::detail
