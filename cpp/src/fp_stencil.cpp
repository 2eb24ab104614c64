#include "fp_stencil.hpp"

#include <algorithm>
#include <cmath>

namespace fpscore::detail {
namespace {

// The interior node a ghost stands for under Neumann (mirror) or periodic (wrap)
// conditions, along one axis of length len; k is -1 or len.
index_t fold(index_t k, index_t len, Boundary bc) {
    if (k >= 0 && k < len) return k;
    if (bc == Boundary::Periodic) return k < 0 ? len - 1 : 0;
    return k < 0 ? 1 : len - 2;  // Neumann: ghost = the interior node on the other side
}

bool ghost_is_known(Boundary bc) { return bc == Boundary::Zero || bc == Boundary::Dirichlet; }

}  // namespace

Stencil::Stencil(const Grid& grid, Boundary boundary) : grid_(grid), boundary_(boundary) {
    const index_t H = grid.rows, W = grid.cols, n = grid.size();
    const index_t di[kNeighbours] = {0, 0, 0, 1, -1};
    const index_t dj[kNeighbours] = {0, 1, -1, 0, 0};
    // Column of each neighbour of each node (-1 for a known ghost).
    std::vector<index_t> target(static_cast<size_t>(n) * kNeighbours);
    for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j)
            for (int d = 0; d < kNeighbours; ++d) {
                index_t ni = i + di[d], nj = j + dj[d];
                const bool outside = ni < 0 || ni >= H || nj < 0 || nj >= W;
                if (outside && ghost_is_known(boundary)) {
                    target[(i * W + j) * kNeighbours + d] = -1;
                    continue;
                }
                ni = fold(ni, H, boundary);
                nj = fold(nj, W, boundary);
                target[(i * W + j) * kNeighbours + d] = ni * W + nj;
            }

    indptr_.assign(static_cast<size_t>(n) + 1, 0);
    slots_.assign(target.size(), -1);
    std::vector<index_t> row;
    for (index_t p = 0; p < n; ++p) {
        row.clear();
        for (int d = 0; d < kNeighbours; ++d)
            if (target[p * kNeighbours + d] >= 0) row.push_back(target[p * kNeighbours + d]);
        std::sort(row.begin(), row.end());
        row.erase(std::unique(row.begin(), row.end()), row.end());
        for (int d = 0; d < kNeighbours; ++d) {
            const index_t t = target[p * kNeighbours + d];
            if (t >= 0)
                slots_[p * kNeighbours + d] =
                    indptr_[p] + (std::lower_bound(row.begin(), row.end(), t) - row.begin());
        }
        indices_.insert(indices_.end(), row.begin(), row.end());
        indptr_[p + 1] = static_cast<offset_t>(indices_.size());
    }
}

std::optional<GridShape> Stencil::grid_shape() const {
    const bool periodic = boundary_ == Boundary::Periodic;
    return GridShape{grid_.rows, grid_.cols, periodic, periodic};
}

void Stencil::pad(const double* m, const double* ghosts, double* padded) const {
    const index_t H = grid_.rows, W = grid_.cols, PW = W + 2;
    for (index_t i = 0; i < H; ++i) std::copy_n(m + i * W, W, padded + (i + 1) * PW + 1);
    // The ring without corners (the 5-point stencil never reads them; keep them defined).
    auto ring = [&](index_t i, index_t j) -> double& { return padded[(i + 1) * PW + (j + 1)]; };
    for (const index_t j : {index_t{-1}, W}) ring(-1, j) = ring(H, j) = 0.0;
    for (index_t i = -1; i <= H; ++i)
        for (index_t j = -1; j <= W; ++j) {
            const bool on_ring = i == -1 || i == H || j == -1 || j == W;
            const bool corner = (i == -1 || i == H) && (j == -1 || j == W);
            if (!on_ring || corner) continue;
            switch (boundary_) {
                case Boundary::Zero: ring(i, j) = 0.0; break;
                case Boundary::Dirichlet: ring(i, j) = ghosts[(i + 1) * PW + (j + 1)]; break;
                case Boundary::Neumann:
                case Boundary::Periodic:
                    ring(i, j) = m[fold(i, H, boundary_) * W + fold(j, W, boundary_)];
                    break;
            }
        }
}

double assemble_step(const Stencil& stencil, Scheme scheme, const double* lag,
                     const double* m_prev, double g, double dt, const double* drift,
                     const double* drift_div, const offset_t* positions, double* values,
                     double* rhs) {
    const Grid& grid = stencil.grid();
    const index_t H = grid.rows, W = grid.cols, PW = W + 2, n = grid.size();
    const double h = grid.h;
    const double half_g2 = 0.5 * g * g;
    const double a = half_g2 / (h * h);  // ½g²/h²: the Laplacian's off-diagonal weight
    const double inv_dt = 1.0 / dt;
    double max_speed = 0.0;

    for (index_t i = 0; i < H; ++i) {
        for (index_t j = 0; j < W; ++j) {
            const index_t p = i * W + j;
            const double* c = lag + (i + 1) * PW + (j + 1);
            const double lag_e = c[1], lag_w = c[-1], lag_s = c[PW], lag_n = c[-PW];
            // Advection velocity v = ½g² G_h m_lag − f.
            double vx = half_g2 * (lag_e - lag_w) / (2.0 * h);
            double vy = half_g2 * (lag_s - lag_n) / (2.0 * h);
            if (drift != nullptr) {
                vx -= drift[p];
                vy -= drift[n + p];
            }
            max_speed = std::max(max_speed, std::hypot(vx, vy));

            double coef[kNeighbours];
            if (scheme == Scheme::Central) {
                coef[kCentre] = inv_dt + 4.0 * a;
                coef[kEast] = -a - vx / (2.0 * h);
                coef[kWest] = -a + vx / (2.0 * h);
                coef[kSouth] = -a - vy / (2.0 * h);
                coef[kNorth] = -a + vy / (2.0 * h);
            } else {
                // v·∇m with the one-sided difference towards where v points.
                coef[kCentre] = inv_dt + 4.0 * a + (std::abs(vx) + std::abs(vy)) / h;
                coef[kEast] = -a - std::max(vx, 0.0) / h;
                coef[kWest] = -a - std::max(-vx, 0.0) / h;
                coef[kSouth] = -a - std::max(vy, 0.0) / h;
                coef[kNorth] = -a - std::max(-vy, 0.0) / h;
            }

            double b = m_prev[p] * inv_dt;
            if (drift_div != nullptr) b -= drift_div[p];
            const double ghost[kNeighbours] = {0.0, lag_e, lag_w, lag_s, lag_n};
            const offset_t* pos = positions + p * kNeighbours;
            for (int d = 0; d < kNeighbours; ++d) {
                if (pos[d] >= 0)
                    values[pos[d]] += coef[d];
                else
                    b -= coef[d] * ghost[d];  // a known ghost value (only ring values reach here)
            }
            rhs[p] = b;
        }
    }
    return max_speed;
}

void central_gradient_padded(const Grid& grid, const double* padded, double* grad) {
    const index_t H = grid.rows, W = grid.cols, PW = W + 2, n = grid.size();
    const double inv_2h = 1.0 / (2.0 * grid.h);
    for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) {
            const double* c = padded + (i + 1) * PW + (j + 1);
            grad[i * W + j] = (c[1] - c[-1]) * inv_2h;
            grad[n + i * W + j] = (c[PW] - c[-PW]) * inv_2h;
        }
}

}  // namespace fpscore::detail
