#include "sparse/ordering/orderings.hpp"

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <stdexcept>

#include "common/enum_names.hpp"

namespace fpscore {

namespace {
constexpr detail::EnumNames<Ordering, 5> kOrderingNames = {
    {Ordering::Automatic, "auto"},
    {Ordering::Natural, "natural"},
    {Ordering::MinimumDegree, "minimum_degree"},
    {Ordering::NestedDissection, "nested_dissection"},
    {Ordering::ReverseCuthillMcKee, "rcm"},
};
}  // namespace

Ordering parse_ordering(const std::string& name) { return detail::parse_enum(name, "ordering", kOrderingNames); }

std::string to_string(Ordering ordering) { return detail::enum_name(ordering, kOrderingNames); }

std::vector<index_t> natural_order(index_t n) {
    std::vector<index_t> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    return perm;
}

namespace {

// Whether every edge of g joins 5-point neighbours of the rows×cols grid. An edge is told
// by its offset d = v - u and u's column: ±1 within a row, ±cols, and, only on a periodic
// grid, ±(cols-1) across a row's ends or ±(rows-1)·cols across the first and last rows.
std::optional<GridShape> fits_grid(const Graph& g, index_t cols) {
    GridShape shape{g.n / cols, cols, false, false};
    const index_t wrap_rows = (shape.rows - 1) * cols;
    for (index_t u = 0, uj = 0; u < g.n; ++u, uj = uj + 1 == cols ? 0 : uj + 1) {
        for (offset_t p = g.ptr[u]; p < g.ptr[u + 1]; ++p) {
            const index_t d = g.adj[p] - u;
            // Non-short-circuit operators: one well-predicted branch for the usual edges.
            const bool next_in_row = (d == 1) & (uj + 1 < cols), previous_in_row = (d == -1) & (uj > 0);
            if (next_in_row | previous_in_row | (d == cols) | (d == -cols)) continue;
            if (cols > 2 && ((d == cols - 1 && uj == 0) || (d == 1 - cols && uj == cols - 1))) {
                shape.periodic_cols = true;
                continue;
            }
            if (shape.rows > 2 && (d == wrap_rows || d == -wrap_rows)) {
                shape.periodic_rows = true;
                continue;
            }
            return std::nullopt;
        }
    }
    return shape;
}

}  // namespace

std::optional<GridShape> detect_grid(const Graph& g) {
    if (g.n == 0) return std::nullopt;
    // Row-major grids have edges at offsets 1 and W (and W-1, (H-1)W when periodic).
    index_t smallest = g.n;
    for (index_t u = 0; u < g.n; ++u)
        for (offset_t p = g.ptr[u]; p < g.ptr[u + 1]; ++p) {
            const index_t d = std::abs(g.adj[p] - u);
            smallest = std::min(smallest, d > 1 ? d : smallest);
        }
    for (const index_t cols : {smallest, smallest + 1}) {
        if (cols <= 0 || cols > g.n || g.n % cols != 0) continue;
        if (auto shape = fits_grid(g, cols)) return shape;
    }
    return std::nullopt;
}

std::vector<index_t> compute_ordering(const Graph& g, Ordering kind,
                                      const std::optional<GridShape>& grid) {
    switch (kind) {
        case Ordering::Natural: return natural_order(g.n);
        case Ordering::MinimumDegree: return minimum_degree_order(g);
        case Ordering::ReverseCuthillMcKee: return reverse_cuthill_mckee_order(g);
        case Ordering::NestedDissection: {
            const auto shape = grid ? grid : detect_grid(g);
            return shape ? grid_nested_dissection_order(*shape) : graph_nested_dissection_order(g);
        }
        case Ordering::Automatic: {
            const auto shape = grid ? grid : detect_grid(g);
            return shape ? grid_nested_dissection_order(*shape) : minimum_degree_order(g);
        }
    }
    throw std::invalid_argument("unknown ordering");
}

void validate_permutation(const std::vector<index_t>& perm, index_t n) {
    if (static_cast<index_t>(perm.size()) != n)
        throw std::invalid_argument("permutation has " + std::to_string(perm.size()) +
                                    " entries, expected " + std::to_string(n));
    std::vector<char> seen(static_cast<size_t>(n), 0);
    for (const index_t v : perm) {
        if (v < 0 || v >= n || seen[v])
            throw std::invalid_argument("not a permutation of 0.." + std::to_string(n - 1) +
                                        ": entry " + std::to_string(v) + " is out of range or repeated");
        seen[v] = 1;
    }
}

}  // namespace fpscore
