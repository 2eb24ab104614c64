// Breadth-first search helpers shared by the orderings (private header).
#pragma once

#include <vector>

#include "sparse/graph.hpp"

namespace fpscore::detail {

// Breadth-first levels of the nodes reachable from `root` among those with
// member[v] == stamp. Fills level[v] for visited nodes and returns them in BFS order.
// `order_by_degree` visits each node's neighbours in increasing degree (for RCM).
std::vector<index_t> bfs_levels(const Graph& g, index_t root, const std::vector<int>& member,
                                int stamp, std::vector<index_t>& level,
                                bool order_by_degree = false);

// A node of large eccentricity in root's component (George–Liu pseudo-peripheral search).
index_t pseudo_peripheral_node(const Graph& g, index_t root, const std::vector<int>& member,
                               int stamp, std::vector<index_t>& level);

}  // namespace fpscore::detail
