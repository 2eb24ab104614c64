#include "sparse/symbolic/tree_split.hpp"

#include <algorithm>
#include <vector>

namespace fpscore::detail {

TreeSplit split_elimination_tree(const SymbolicPlan& sym) {
    const index_t n = sym.n;
    const offset_t* row_ptr = sym.row_ptr.data();
    const offset_t* diag = sym.diag.data();
    const index_t* cols = sym.cols.data();
    if (n < 4) return {};
    // The separator: the chain at the root, rows whose only child (in the elimination
    // tree: a row's parent is its first U column) is the row before.
    std::vector<index_t> children(static_cast<size_t>(n), 0);
    for (index_t k = 0; k < n; ++k)
        if (diag[k] + 1 < row_ptr[k + 1]) ++children[cols[diag[k] + 1]];
    index_t top = n - 1;
    while (top > 0 && children[top] == 1 && diag[top - 1] + 1 < row_ptr[top] && cols[diag[top - 1] + 1] == top)
        --top;
    if (top < 2) return {};
    // Eliminating with source row k costs about 2 |U(k)|² (|U(k)| target rows, each
    // |U(k)| multiply-adds); a side does it for its own rows and for the separator's.
    const auto cost = [&](index_t k) {
        const auto u = static_cast<double>(row_ptr[k + 1] - diag[k] - 1);
        return u * (2.0 * u + 1.0);
    };
    std::vector<double> work(static_cast<size_t>(top) + 1, 0.0);  // prefix sums over rows
    for (index_t k = 0; k < top; ++k) work[k + 1] = work[k] + cost(k);
    double rest = 0.0;
    for (index_t k = top; k < n; ++k) rest += cost(k);
    // mid splits the sides when no row of [mid, top) has an L entry before mid (the
    // pattern is symmetric, so no row before mid has a U entry in [mid, top) either).
    std::vector<index_t> lowest(static_cast<size_t>(top) + 1, top);  // min L column over rows [k, top)
    for (index_t k = top - 1; k >= 0; --k) {
        const index_t first = row_ptr[k] < diag[k] ? cols[row_ptr[k]] : k;
        lowest[k] = std::min(lowest[k + 1], first);
    }
    TreeSplit best;
    double best_time = work[top] + rest;  // one thread
    for (index_t mid = 1; mid < top; ++mid) {
        if (lowest[mid] < mid) continue;
        const double time = std::max(work[mid], work[top] - work[mid]) + rest;
        if (time < best_time) {
            best_time = time;
            best = {mid, top};
        }
    }
    // Two threads must save a quarter of the time to pay for starting one.
    if (best_time > 0.75 * (work[top] + rest)) return {};
    return best;
}

}  // namespace fpscore::detail
