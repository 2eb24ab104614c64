#include "fp/stencil.hpp"

#include <algorithm>

namespace fpscore::detail {
namespace {

// The interior index a ghost at k (-1 or len) stands for under Neumann (mirror) or
// periodic (wrap) conditions, along an axis of length len.
index_t fold(index_t k, index_t len, Boundary bc) {
    if (k >= 0 && k < len) return k;
    if (bc == Boundary::Periodic) return k < 0 ? len - 1 : 0;
    return k < 0 ? 1 : len - 2;  // Neumann: ghost = the interior node on the other side
}

bool ghost_is_known(Boundary bc) { return bc == Boundary::Zero || bc == Boundary::Dirichlet; }

}  // namespace

Stencil::Stencil(const Grid& grid, Boundary boundary) : grid_(grid), boundary_(boundary) {
    // Node indices fit index_t (the callers validate the grid: kMaxGridNodes); positions in
    // the 5-per-node arrays may not, and are 64-bit.
    const index_t H = grid.rows, W = grid.cols, n = static_cast<index_t>(grid.size());
    const index_t di[kNeighbours] = {0, 0, 0, 1, -1};
    const index_t dj[kNeighbours] = {0, 1, -1, 0, 0};
    // Column of each neighbour of each node (-1 for a known ghost).
    std::vector<index_t> target(static_cast<size_t>(n) * kNeighbours);
    for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j)
            for (int d = 0; d < kNeighbours; ++d) {
                const index_t ni = i + di[d], nj = j + dj[d];
                const bool outside = ni < 0 || ni >= H || nj < 0 || nj >= W;
                target[(static_cast<size_t>(i) * W + j) * kNeighbours + d] =
                    outside && ghost_is_known(boundary) ? -1 : fold(ni, H, boundary) * W + fold(nj, W, boundary);
            }

    indptr_.assign(static_cast<size_t>(n) + 1, 0);
    slots_.assign(target.size(), -1);
    std::vector<index_t> row;
    for (index_t p = 0; p < n; ++p) {
        const size_t at = static_cast<size_t>(p) * kNeighbours;
        row.clear();
        for (int d = 0; d < kNeighbours; ++d)
            if (target[at + d] >= 0) row.push_back(target[at + d]);
        std::sort(row.begin(), row.end());
        row.erase(std::unique(row.begin(), row.end()), row.end());
        for (int d = 0; d < kNeighbours; ++d) {
            const index_t t = target[at + d];
            if (t >= 0)
                slots_[at + d] =
                    indptr_[p] + (std::lower_bound(row.begin(), row.end(), t) - row.begin());
        }
        indices_.insert(indices_.end(), row.begin(), row.end());
        indptr_[p + 1] = static_cast<offset_t>(indices_.size());
    }

    const index_t PW = W + 2;
    for (index_t i = -1; i <= H; ++i)
        for (index_t j = -1; j <= W; ++j) {
            const bool on_ring = i == -1 || i == H || j == -1 || j == W;
            const bool corner = (i == -1 || i == H) && (j == -1 || j == W);
            if (!on_ring || corner) continue;  // the 5-point stencil never reads corners
            ring_.push_back((i + 1) * PW + (j + 1));
            ring_source_.push_back(ghost_is_known(boundary) ? -1 : fold(i, H, boundary) * W + fold(j, W, boundary));
        }
}

std::optional<GridShape> Stencil::grid_shape() const {
    const bool periodic = boundary_ == Boundary::Periodic;
    return GridShape{grid_.rows, grid_.cols, periodic, periodic};
}

void Stencil::pad(const double* m, const double* ghosts, double* padded) const {
    const double* const lanes[1] = {ghosts};
    pad_lanes(m, ghosts ? lanes : nullptr, 1, padded);
}

void Stencil::pad_lanes(const double* m, const double* const* ghosts, index_t lanes, double* padded) const {
    const index_t H = grid_.rows, W = grid_.cols, PW = W + 2;
    const auto L = static_cast<offset_t>(lanes);
    for (const index_t corner : {index_t{0}, PW - 1, (H + 1) * PW, (H + 1) * PW + PW - 1})
        std::fill_n(padded + corner * L, L, 0.0);
    for (index_t i = 0; i < H; ++i)
        std::copy_n(m + static_cast<offset_t>(i) * W * L, W * L, padded + (static_cast<offset_t>(i + 1) * PW + 1) * L);
    for (size_t r = 0; r < ring_.size(); ++r) {
        double* dst = padded + ring_[r] * L;
        if (ring_source_[r] >= 0)
            std::copy_n(m + ring_source_[r] * L, L, dst);
        else
            for (offset_t l = 0; l < L; ++l) dst[l] = ghosts != nullptr ? ghosts[l][ring_[r]] : 0.0;
    }
}

void central_gradient_padded(const Grid& grid, const double* padded, double* grad) {
    const index_t H = grid.rows, W = grid.cols, PW = W + 2;
    const offset_t n = grid.size();
    const double inv_2h = 1.0 / (2.0 * grid.h);
    for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) {
            const double* c = padded + (static_cast<offset_t>(i) + 1) * PW + (j + 1);
            const offset_t p = static_cast<offset_t>(i) * W + j;
            grad[p] = (c[1] - c[-1]) * inv_2h;
            grad[n + p] = (c[PW] - c[-PW]) * inv_2h;
        }
}

}  // namespace fpscore::detail
