// The semi-explicit finite-difference solver of the log-density Fokker–Planck equation
//
//     m_t = −∇·f − f·∇m + ½ g(t)² (Δm + |∇m|²),   m = log p,
//
// on a row-major H×W grid (x = column index j, y = row index i; component 0 is x).
// Units: positions in units of the grid spacing h's length, times t in any time unit, the
// drift f in length / time, g(t) in length / sqrt(time), m dimensionless (log of a density
// relative to uniform). Arrays are C-contiguous float64 with the shapes noted, row-major.
// Each time step is backward Euler with the nonlinear term linearised as
// ∇m_lag·∇m_new and iterated to a fixed point (DESIGN.md §2).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fpscore/sparse/csr.hpp"

namespace fpscore {

enum class Boundary {
    Zero,       // ghost m = 0
    Dirichlet,  // ghost values given per time
    Neumann,    // ghost = interior node on the other side (zero normal derivative)
    Periodic,
};
enum class Scheme {
    Central,  // central differences for the advection term (second order)
    Upwind,   // first-order upwind in the direction of v: an M-matrix for any Δt, h
};
enum class Iteration {
    Picard,  // iterate each time step to its fixed point
    Policy,  // sweep all steps with the lagged score of the previous sweep
};

Boundary parse_boundary(const std::string& name);
Scheme parse_scheme(const std::string& name);
Iteration parse_iteration(const std::string& name);
std::string to_string(Boundary bc);
std::string to_string(Scheme scheme);
std::string to_string(Iteration iteration);

// A read-only array of doubles that the caller owns and keeps alive during the call:
// `size` values at `data`. Every array argument carries its size, checked against the
// shape it must have (std::invalid_argument on a mismatch); an empty view (data null,
// size 0) means "not given" where an array is optional.
struct ArrayView {
    const double* data = nullptr;
    std::size_t size = 0;

    ArrayView() = default;
    ArrayView(const double* values, std::size_t count) : data(values), size(count) {}
    ArrayView(const std::vector<double>& values) : data(values.data()), size(values.size()) {}  // implicit
    const double& operator[](std::size_t k) const { return data[k]; }
    bool given() const { return data != nullptr; }
};

// Node indices of a grid are 32-bit (index_t, the sparse solver's row indices): a grid may
// have at most this many nodes with its ghost ring, (H+2)*(W+2) <= 2^31 - 1. Larger grids
// are rejected with std::invalid_argument; array sizes (B, N and the grid together) are
// 64-bit.
inline constexpr offset_t kMaxGridNodes = 2147483647;

struct Grid {
    index_t rows = 0;  // H
    index_t cols = 0;  // W
    double h = 1.0;    // spacing, the same in x and y
    // H*W and (H+2)*(W+2), computed in 64 bits (exact for any rows and cols).
    offset_t size() const { return static_cast<offset_t>(rows) * cols; }
    offset_t padded_size() const { return (static_cast<offset_t>(rows) + 2) * (static_cast<offset_t>(cols) + 2); }
};

// What to solve. Arrays are row-major with the shapes noted.
struct FPProblem {
    Grid grid;
    Boundary boundary = Boundary::Zero;
    index_t batch = 1;    // B independent fields
    index_t n_steps = 0;  // N
    ArrayView times;      // (N+1): t_0 < t_1 < ... < t_N
    ArrayView g;          // (N+1): g(t_n)
    ArrayView drift;      // (N+1, 2, H, W) f(t_n) on the grid, or empty for f = 0
    ArrayView drift_div;  // (N+1, H, W) ∇·f(t_n), required with drift
    ArrayView ghosts;     // Dirichlet only: (N+1, B, H+2, W+2); the ring is used
};

struct FPOptions {
    Scheme scheme = Scheme::Central;
    Iteration iteration = Iteration::Picard;
    double tol = 1e-8;   // ‖m_k − m_{k−1}‖∞ <= tol · max(1, ‖m_k‖∞)
    int max_iter = 50;   // iterations per step (Picard) or sweeps (policy)
    int threads = 1;     // worker threads over the batch; 0 = all hardware threads
};

struct FPSolution {
    std::vector<double> m;           // (N+1, B, H, W)
    std::vector<double> score;       // (N+1, B, 2, H, W): central ∇m with the same ghosts
    std::vector<int> iterations;     // (N): the most any batch member needed per step
};

// Solves the problem from m0 (B, H, W). Throws std::invalid_argument on bad input (a size
// mismatch included) and ConvergenceError when an iteration fails to converge or values
// become non-finite.
FPSolution solve_log_density(const FPProblem& problem, ArrayView m0, const FPOptions& options = {});

// One linear system of the scheme, as an (H·W)×(H·W) CSR matrix (sorted columns) and its
// right-hand side (H·W), unknowns numbered row-major.
struct FPSystem {
    std::vector<offset_t> indptr;
    std::vector<index_t> indices;
    std::vector<double> data;
    std::vector<double> rhs;
};

// Assembles the system for the step from m_prev (H, W) with lagged iterate m_lag (H, W):
// g = g(t_n), dt = Δt, drift (2, H, W) and drift_div (H, W) at t_n (both empty for f = 0),
// ghosts (H+2, W+2) for Dirichlet (empty otherwise).
FPSystem assemble_fp_system(const Grid& grid, Boundary boundary, Scheme scheme, ArrayView m_prev,
                            ArrayView m_lag, double g, double dt, ArrayView drift = {},
                            ArrayView drift_div = {}, ArrayView ghosts = {});

// The central-difference gradient (2, H, W) of m (H, W) with the boundary's ghosts
// ((H+2, W+2), Dirichlet only).
std::vector<double> central_gradient(const Grid& grid, Boundary boundary, ArrayView m, ArrayView ghosts = {});

}  // namespace fpscore
