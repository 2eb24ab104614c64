// The Fokker–Planck scheme node by node, for one field of an interleaved batch (value of node p
// of field l at p * stride + l): the ghost ring, the matrix row and residual of a step, the
// central gradient. The same formulas as the CPU kernels (cpp/src/fp/assembly.cpp,
// cpp/src/fp/stencil.cpp), one node and one field per call: a CUDA thread each on the device,
// loops in the host executor.
#pragma once

#include <cstdint>

#include "hd.hpp"

namespace fpscore::cuda_detail {

// Neighbour order of the stencil's slots (cpp/src/fp/stencil.hpp): centre, east, west, south, north.
inline constexpr int kStencilPoints = 5;

struct GridGeometry {
    std::int32_t rows = 0;  // H
    std::int32_t cols = 0;  // W
    double h = 1.0;
    FPSCORE_HD std::int64_t cells() const { return static_cast<std::int64_t>(rows) * cols; }
    FPSCORE_HD std::int64_t padded_cols() const { return static_cast<std::int64_t>(cols) + 2; }
    FPSCORE_HD std::int64_t padded_cells() const { return (static_cast<std::int64_t>(rows) + 2) * padded_cols(); }
};

// Interior node p of field `lane` into the padded field.
FPSCORE_HD void pad_interior(const GridGeometry& g, std::int64_t p, const double* m, double* padded,
                             std::int64_t stride, std::int64_t lane) {
    const std::int64_t i = p / g.cols, j = p % g.cols;
    padded[((i + 1) * g.padded_cols() + j + 1) * stride + lane] = m[p * stride + lane];
}

// Ring position r: a copy of interior node source[r] (Neumann, periodic), or the known ghost
// value (zero; Dirichlet: ghosts[lane * padded_cells + ring[r]] when ghosts is given).
FPSCORE_HD void pad_ring(const GridGeometry& g, std::int64_t r, const std::int32_t* ring, const std::int32_t* source,
                         const double* m, const double* ghosts, double* padded, std::int64_t stride,
                         std::int64_t lane) {
    const std::int64_t at = ring[r];
    double value = 0.0;
    if (source[r] >= 0)
        value = m[static_cast<std::int64_t>(source[r]) * stride + lane];
    else if (ghosts != nullptr)
        value = ghosts[lane * g.padded_cells() + at];
    padded[at * stride + lane] = value;
}

// The advection velocity v = ½g² G_h m − f at node p (centre c of the padded field) of field `lane`.
FPSCORE_HD void advection_velocity(const GridGeometry& g, std::int64_t p, double half_g2, const double* padded,
                                   const double* drift, std::int64_t stride, std::int64_t lane, double* vx,
                                   double* vy) {
    const std::int64_t i = p / g.cols, j = p % g.cols, PW = g.padded_cols();
    const std::int64_t c = (i + 1) * PW + j + 1;
    const double inv_2h = 0.5 / g.h;
    *vx = half_g2 * inv_2h * (padded[(c + 1) * stride + lane] - padded[(c - 1) * stride + lane]);
    *vy = half_g2 * inv_2h * (padded[(c + PW) * stride + lane] - padded[(c - PW) * stride + lane]);
    if (drift != nullptr) {
        *vx -= drift[p];
        *vy -= drift[g.cells() + p];
    }
}

struct StepCoefficients {
    double half_g2;  // ½ g(t_n)²
    double inv_dt;   // 1 / Δt
    bool upwind;
};

// Node p of field `lane` at one step: the residual b − A(lag)·lag of its row (into residual),
// and, when factor is not null, its five coefficients stored at their factor positions
// (positions[5p + d], −1 for a known ghost). drift (2, cells) and drift_div (cells) are shared
// by the fields, or null.
FPSCORE_HD void assemble_node(const GridGeometry& g, std::int64_t p, const StepCoefficients& s,
                              const double* padded, const double* m_prev, const double* drift,
                              const double* drift_div, const std::int64_t* positions, double* residual,
                              double* factor, std::int64_t stride, std::int64_t lane) {
    const double h = g.h;
    const double a = s.half_g2 / (h * h);
    const double inv_h = 1.0 / h, inv_2h = 0.5 / h;
    const std::int64_t i = p / g.cols, j = p % g.cols, PW = g.padded_cols();
    const std::int64_t c = (i + 1) * PW + j + 1;
    const double value[kStencilPoints] = {padded[c * stride + lane], padded[(c + 1) * stride + lane],
                                          padded[(c - 1) * stride + lane], padded[(c + PW) * stride + lane],
                                          padded[(c - PW) * stride + lane]};
    double vx, vy;
    advection_velocity(g, p, s.half_g2, padded, drift, stride, lane, &vx, &vy);
    double coef[kStencilPoints];
    if (!s.upwind) {
        coef[0] = s.inv_dt + 4.0 * a;
        coef[1] = -a - inv_2h * vx;
        coef[2] = -a + inv_2h * vx;
        coef[3] = -a - inv_2h * vy;
        coef[4] = -a + inv_2h * vy;
    } else {
        const double ax = vx > 0.0 ? vx : -vx, ay = vy > 0.0 ? vy : -vy;
        coef[0] = (s.inv_dt + 4.0 * a) + inv_h * (ax + ay);
        coef[1] = -a - inv_h * (vx > 0.0 ? vx : 0.0);
        coef[2] = -a - inv_h * (-vx > 0.0 ? -vx : 0.0);
        coef[3] = -a - inv_h * (vy > 0.0 ? vy : 0.0);
        coef[4] = -a - inv_h * (-vy > 0.0 ? -vy : 0.0);
    }
    double b = s.inv_dt * m_prev[p * stride + lane];
    if (drift_div != nullptr) b -= drift_div[p];
    double applied = coef[0] * value[0];
    for (int d = 1; d < kStencilPoints; ++d) applied += coef[d] * value[d];
    residual[p * stride + lane] = b - applied;
    if (factor != nullptr)
        for (int d = 0; d < kStencilPoints; ++d) {
            const std::int64_t at = positions[p * kStencilPoints + d];
            if (at >= 0) factor[at * stride + lane] += coef[d];
        }
}

// |v|² at node p (the error messages report max |v|).
FPSCORE_HD double squared_speed(const GridGeometry& g, std::int64_t p, double half_g2, const double* padded,
                                const double* drift, std::int64_t stride, std::int64_t lane) {
    double vx, vy;
    advection_velocity(g, p, half_g2, padded, drift, stride, lane, &vx, &vy);
    return vx * vx + vy * vy;
}

// Central gradient of the padded field at node p: grad[(0, p)] = ∂x, grad[(1, p)] = ∂y.
FPSCORE_HD void gradient_node(const GridGeometry& g, std::int64_t p, const double* padded, double* grad,
                              std::int64_t stride, std::int64_t lane) {
    const std::int64_t i = p / g.cols, j = p % g.cols, PW = g.padded_cols();
    const std::int64_t c = (i + 1) * PW + j + 1;
    const double inv_2h = 1.0 / (2.0 * g.h);
    grad[p * stride + lane] = (padded[(c + 1) * stride + lane] - padded[(c - 1) * stride + lane]) * inv_2h;
    grad[(g.cells() + p) * stride + lane] =
        (padded[(c + PW) * stride + lane] - padded[(c - PW) * stride + lane]) * inv_2h;
}

// Picard's first guess for step n at element k: the last levels extrapolated (quadratic once
// three exist), as the CPU solver does.
FPSCORE_HD double first_guess(std::int32_t n, double prev, double older, double oldest) {
    return n >= 3 ? 3.0 * (prev - older) + oldest : n == 2 ? 2.0 * prev - older : prev;
}

}  // namespace fpscore::cuda_detail
