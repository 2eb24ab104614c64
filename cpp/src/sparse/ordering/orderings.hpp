// The orderings themselves, on the symmetric graph of a pattern (used by SymbolicLU).
#pragma once

#include <optional>
#include <vector>

#include "fpscore/sparse/ordering.hpp"
#include "sparse/graph.hpp"

namespace fpscore {

// The grid a pattern lives on, if every edge joins 5-point neighbours of some
// row-major grid (possibly periodic); std::nullopt otherwise.
std::optional<GridShape> detect_grid(const Graph& g);

std::vector<index_t> natural_order(index_t n);
std::vector<index_t> minimum_degree_order(const Graph& g);
std::vector<index_t> reverse_cuthill_mckee_order(const Graph& g);
// Nested dissection by straight-line separators of the grid.
std::vector<index_t> grid_nested_dissection_order(const GridShape& grid);
// Nested dissection by breadth-first level-set separators, for any graph.
std::vector<index_t> graph_nested_dissection_order(const Graph& g);

// The ordering of `kind` for pattern g; `grid` (if known) enables geometric nested dissection.
std::vector<index_t> compute_ordering(const Graph& g, Ordering kind,
                                      const std::optional<GridShape>& grid = std::nullopt);

// Throws std::invalid_argument unless perm is a permutation of 0..n-1.
void validate_permutation(const std::vector<index_t>& perm, index_t n);

}  // namespace fpscore
