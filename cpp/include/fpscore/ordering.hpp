// Fill-reducing symmetric orderings. Each returns a permutation `perm` with
// perm[new] = old: row and column perm[k] of A become row and column k.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fpscore/csr.hpp"

namespace fpscore {

enum class Ordering {
    Automatic,         // nested dissection for grid patterns, minimum degree otherwise
    Natural,           // the identity
    MinimumDegree,     // greedy minimum degree on the elimination graph
    NestedDissection,  // geometric separators for grids, level-set separators otherwise
    ReverseCuthillMcKee,
};

Ordering parse_ordering(const std::string& name);
std::string to_string(Ordering ordering);

// The shape of a row-major H×W grid whose 5-point stencil contains a pattern.
struct GridShape {
    index_t rows = 0;
    index_t cols = 0;
    bool periodic_rows = false;  // row index wraps (north of row 0 is row H-1)
    bool periodic_cols = false;  // column index wraps
};

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
