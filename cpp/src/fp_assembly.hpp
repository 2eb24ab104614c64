// Assembly of one step of the FP scheme for PackedLU::kLanes fields at once
// (private header). Fields are interleaved: value l of node p at p * kLanes + l.
#pragma once

#include "fp_stencil.hpp"
#include "fpscore/packed_lu.hpp"

namespace fpscore::detail {

constexpr index_t kLanes = PackedLU::kLanes;

struct StepInputs {
    const double* padded_lag = nullptr;  // ((H+2)(W+2), kLanes): lagged iterate with its ghost ring at t_n
    const double* m_prev = nullptr;      // (H*W, kLanes): the previous level
    double g = 0.0;                      // g(t_n)
    double dt = 0.0;
    const double* drift = nullptr;       // (2, H*W) f(t_n), shared by the lanes, or null
    const double* drift_div = nullptr;   // (H*W) ∇·f(t_n), or null
};

struct StepOutputs {
    // Where each coefficient goes: positions[5 * node + neighbour], -1 for a known ghost
    // (its term moves to the right-hand side). Always required.
    const offset_t* positions = nullptr;
    double* values = nullptr;    // coefficients added at positions[...] * kLanes + lane, or null
    double* rhs = nullptr;       // (H*W, kLanes) right-hand side b, or null
    double* residual = nullptr;  // (H*W, kLanes) b − A(lag)·lag, or null
    double* speed = nullptr;     // (kLanes) max |v| per lane, required
};

// v = ½g² G_h(lag) − f; the matrix row of the scheme at every node (DESIGN §2.2).
void assemble_lanes(const Grid& grid, Scheme scheme, const StepInputs& in, const StepOutputs& out);

}  // namespace fpscore::detail
