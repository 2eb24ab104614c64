// Nested dissection: order the two halves left by a separator first, the separator
// last, recursively. Fill then stays within the separators' dense blocks:
// O(n log n) entries for a 2-D grid instead of O(n^1.5) for a band ordering.
#include <algorithm>

#include "sparse/ordering/orderings.hpp"
#include "sparse/ordering/graph_search.hpp"

namespace fpscore {
namespace {

constexpr index_t kGridLeafSize = 4;    // rectangles this small are ordered row-major
constexpr index_t kGraphLeafSize = 64;  // node sets this small are ordered by minimum degree

struct Rect {
    index_t r0, r1, c0, c1;  // rows [r0, r1), columns [c0, c1)
    index_t rows() const { return r1 - r0; }
    index_t cols() const { return c1 - c0; }
};

void append_rect(const Rect& r, index_t width, std::vector<index_t>& perm) {
    for (index_t i = r.r0; i < r.r1; ++i)
        for (index_t j = r.c0; j < r.c1; ++j) perm.push_back(i * width + j);
}

void dissect_rect(const Rect& r, index_t width, std::vector<index_t>& perm) {
    if (r.rows() <= 0 || r.cols() <= 0) return;
    if (r.rows() * r.cols() <= kGridLeafSize || (r.rows() <= 2 && r.cols() <= 2)) {
        append_rect(r, width, perm);
        return;
    }
    // Cut across the longer side so the separator is as short as possible.
    if (r.cols() >= r.rows()) {
        const index_t c = r.c0 + r.cols() / 2;
        dissect_rect({r.r0, r.r1, r.c0, c}, width, perm);
        dissect_rect({r.r0, r.r1, c + 1, r.c1}, width, perm);
        append_rect({r.r0, r.r1, c, c + 1}, width, perm);
    } else {
        const index_t i = r.r0 + r.rows() / 2;
        dissect_rect({r.r0, i, r.c0, r.c1}, width, perm);
        dissect_rect({i + 1, r.r1, r.c0, r.c1}, width, perm);
        append_rect({i, i + 1, r.c0, r.c1}, width, perm);
    }
}

// Level-set nested dissection of the node set `nodes` (all with member == stamp).
class GraphDissection {
public:
    explicit GraphDissection(const Graph& g)
        : g_(g), member_(static_cast<size_t>(g.n), 0), level_(static_cast<size_t>(g.n), -1) {}

    void run(std::vector<index_t> nodes, std::vector<index_t>& perm) {
        if (nodes.empty()) return;
        const int stamp = ++stamp_;
        for (const index_t v : nodes) member_[v] = stamp;
        if (static_cast<index_t>(nodes.size()) <= kGraphLeafSize) {
            append_minimum_degree(nodes, perm);
            return;
        }
        const index_t root = detail::pseudo_peripheral_node(g_, nodes.front(), member_, stamp, level_);
        const auto order = detail::bfs_levels(g_, root, member_, stamp, level_);
        if (order.size() < nodes.size()) {
            // Disconnected: dissect the reached component and the rest separately.
            std::vector<index_t> rest;
            for (const index_t v : nodes)
                if (level_[v] < 0) rest.push_back(v);
            for (const index_t v : order) level_[v] = -1;
            run(order, perm);
            run(rest, perm);
            return;
        }
        const index_t depth = level_[order.back()] + 1;
        std::vector<index_t> count(static_cast<size_t>(depth), 0);
        for (const index_t v : order) ++count[level_[v]];
        // The smallest level that leaves at least a quarter of the nodes on each side.
        const auto total = static_cast<index_t>(order.size());
        index_t best = -1, below = 0;
        for (index_t l = 0; l < depth; ++l) {
            const index_t above = total - below - count[l];
            if (4 * below >= total && 4 * above >= total && (best < 0 || count[l] < count[best]))
                best = l;
            below += count[l];
        }
        if (best < 0) {  // too few levels to balance: no useful separator
            for (const index_t v : order) level_[v] = -1;
            append_minimum_degree(nodes, perm);
            return;
        }
        std::vector<index_t> low, high, separator;
        for (const index_t v : order) {
            (level_[v] < best ? low : level_[v] > best ? high : separator).push_back(v);
            level_[v] = -1;
        }
        run(std::move(low), perm);
        run(std::move(high), perm);
        perm.insert(perm.end(), separator.begin(), separator.end());
    }

private:
    void append_minimum_degree(const std::vector<index_t>& nodes, std::vector<index_t>& perm) {
        const auto local = minimum_degree_order(induced_subgraph(g_, nodes));
        for (const index_t k : local) perm.push_back(nodes[k]);
    }

    const Graph& g_;
    std::vector<int> member_;
    std::vector<index_t> level_;
    int stamp_ = 0;
};

}  // namespace

std::vector<index_t> grid_nested_dissection_order(const GridShape& grid) {
    std::vector<index_t> perm;
    perm.reserve(static_cast<size_t>(grid.rows) * static_cast<size_t>(grid.cols));
    // A periodic direction is a cycle: one line (row 0 / column 0) opens it into a path.
    const index_t r0 = grid.periodic_rows ? 1 : 0;
    const index_t c0 = grid.periodic_cols ? 1 : 0;
    dissect_rect({r0, grid.rows, c0, grid.cols}, grid.cols, perm);
    if (grid.periodic_rows) append_rect({0, 1, c0, grid.cols}, grid.cols, perm);
    if (grid.periodic_cols) append_rect({0, grid.rows, 0, 1}, grid.cols, perm);
    return perm;
}

std::vector<index_t> graph_nested_dissection_order(const Graph& g) {
    std::vector<index_t> perm;
    perm.reserve(static_cast<size_t>(g.n));
    GraphDissection(g).run(natural_order(g.n), perm);
    return perm;
}

}  // namespace fpscore
