#include <algorithm>
#include <vector>

#include "check.hpp"
#include "fpscore/sparse/ordering.hpp"
#include "fpscore/sparse/sparse_lu.hpp"
#include "sparse/ordering/orderings.hpp"

using namespace fpscore;

namespace {

// The 5-point Laplacian pattern of an H×W grid, built here independently.
struct GridPattern {
    std::vector<offset_t> indptr{0};
    std::vector<index_t> indices;
    CsrView view(index_t n) const { return {n, indptr.data(), indices.data()}; }
};

GridPattern grid_pattern(index_t H, index_t W, bool periodic) {
    GridPattern g;
    for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) {
            std::vector<index_t> row{i * W + j};
            if (i > 0 || periodic) row.push_back(((i + H - 1) % H) * W + j);
            if (i < H - 1 || periodic) row.push_back(((i + 1) % H) * W + j);
            if (j > 0 || periodic) row.push_back(i * W + (j + W - 1) % W);
            if (j < W - 1 || periodic) row.push_back(i * W + (j + 1) % W);
            std::sort(row.begin(), row.end());
            g.indices.insert(g.indices.end(), row.begin(), row.end());
            g.indptr.push_back(static_cast<offset_t>(g.indices.size()));
        }
    return g;
}

void detects_grids() {
    for (const bool periodic : {false, true}) {
        const auto p = grid_pattern(6, 9, periodic);
        const auto shape = detect_grid(symmetric_graph(p.view(54)));
        CHECK(shape.has_value());
        if (!shape) continue;
        CHECK(shape->rows == 6 && shape->cols == 9);
        CHECK(shape->periodic_cols == periodic && shape->periodic_rows == periodic);
    }
}

void every_ordering_is_a_permutation() {
    const auto p = grid_pattern(13, 7, true);
    const Graph g = symmetric_graph(p.view(91));
    for (const Ordering ord : {Ordering::Natural, Ordering::MinimumDegree, Ordering::NestedDissection,
                               Ordering::ReverseCuthillMcKee, Ordering::Automatic}) {
        validate_permutation(compute_ordering(g, ord), g.n);  // throws if not
    }
    validate_permutation(graph_nested_dissection_order(g), g.n);
    CHECK(true);
}

void nested_dissection_beats_band_fill_on_large_grids() {
    const index_t H = 64, W = 64;
    const auto p = grid_pattern(H, W, false);
    const SymbolicLU nd(p.view(H * W), Ordering::NestedDissection);
    const SymbolicLU natural(p.view(H * W), Ordering::Natural);
    const SymbolicLU graph_nd(p.view(H * W), graph_nested_dissection_order(symmetric_graph(p.view(H * W))));
    // Natural (band) fill is about 2·H·W·W; nested dissection is O(n log n).
    CHECK(nd.nnz_factors() < natural.nnz_factors() / 2);
    CHECK(graph_nd.nnz_factors() < natural.nnz_factors() / 2);
}

}  // namespace

int main() {
    detects_grids();
    every_ordering_is_a_permutation();
    nested_dissection_beats_band_fill_on_large_grids();
    return check::summary("test_orderings");
}
