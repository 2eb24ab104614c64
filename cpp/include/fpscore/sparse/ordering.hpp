// Fill-reducing symmetric orderings, chosen by name when a pattern is analysed
// (SymbolicLU). Every ordering is a permutation perm with perm[new] = old: row and
// column perm[k] of A become row and column k.
#pragma once

#include <string>

#include "fpscore/sparse/csr.hpp"

namespace fpscore {

enum class Ordering {
    Automatic,         // nested dissection for grid patterns, minimum degree otherwise
    Natural,           // the identity
    MinimumDegree,     // greedy minimum degree on the elimination graph
    NestedDissection,  // geometric separators for grids, level-set separators otherwise
    ReverseCuthillMcKee,
};

// "auto", "natural", "minimum_degree", "nested_dissection", "rcm"; throws
// std::invalid_argument for any other name.
Ordering parse_ordering(const std::string& name);
std::string to_string(Ordering ordering);

// The shape of a row-major H×W grid whose 5-point stencil contains a pattern. Given to
// SymbolicLU, it enables geometric nested dissection without detecting the grid.
struct GridShape {
    index_t rows = 0;
    index_t cols = 0;
    bool periodic_rows = false;  // row index wraps (north of row 0 is row H-1)
    bool periodic_cols = false;  // column index wraps
};

}  // namespace fpscore
