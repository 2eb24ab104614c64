// Reverse Cuthill–McKee: breadth-first from a pseudo-peripheral node of each
// component, neighbours by increasing degree, then reversed. A bandwidth ordering,
// kept as a simple, predictable reference for tests.
#include <algorithm>

#include "sparse/ordering/orderings.hpp"
#include "sparse/ordering/graph_search.hpp"

namespace fpscore {

std::vector<index_t> reverse_cuthill_mckee_order(const Graph& g) {
    const index_t n = g.n;
    std::vector<int> member(static_cast<size_t>(n), 1);
    std::vector<index_t> level(static_cast<size_t>(n), -1);
    std::vector<index_t> perm;
    perm.reserve(static_cast<size_t>(n));
    for (index_t start = 0; start < n; ++start) {
        if (member[start] != 1) continue;
        const index_t root = detail::pseudo_peripheral_node(g, start, member, 1, level);
        const auto order = detail::bfs_levels(g, root, member, 1, level, /*order_by_degree=*/true);
        for (const index_t v : order) {
            member[v] = 0;
            perm.push_back(v);
        }
    }
    std::reverse(perm.begin(), perm.end());
    return perm;
}

}  // namespace fpscore
