// A split of the elimination tree between two threads (private header).
//
// With a nested-dissection ordering the rows are [subtrees left of the top separator]
// [subtrees right of it] [the separator]. Rows of either side never meet the other side's
// columns, so the two sides factorise independently; the separator's rows then take the
// updates of each side's columns on that side's thread, and finish on one.
#pragma once

#include "sparse/symbolic/symbolic_plan.hpp"

namespace fpscore::detail {

struct TreeSplit {
    index_t mid = 0;  // side 0: rows [0, mid); side 1: rows [mid, top)
    index_t top = 0;  // the separator: rows [top, n)
    bool usable() const { return 0 < mid && mid < top; }
};

// The split that balances the two sides' work, or an unusable one (mid = top = 0) when
// the tree has no such split or one thread would do nearly all of the work.
TreeSplit split_elimination_tree(const SymbolicPlan& sym);

}  // namespace fpscore::detail
