// Assembly of one step of the FP scheme for `lanes` fields at once (private header).
// Fields are interleaved: value l of node p at p * lanes + l, lanes one of PackedLU's.
#pragma once

#include "fp/stencil.hpp"
#include "sparse/numeric/packed_lu.hpp"

namespace fpscore::detail {

struct StepInputs {
    const double* padded_lag = nullptr;  // ((H+2)(W+2), lanes): lagged iterate with its ghost ring at t_n
    const double* m_prev = nullptr;      // (H*W, lanes): the previous level
    double g = 0.0;                      // g(t_n)
    double dt = 0.0;
    const double* drift = nullptr;       // (2, H*W) f(t_n), shared by the lanes, or null
    const double* drift_div = nullptr;   // (H*W) ∇·f(t_n), or null
};

struct StepOutputs {
    // Where each coefficient goes: positions[5 * node + neighbour], -1 for a known ghost
    // (its term moves to the right-hand side). Always required.
    const offset_t* positions = nullptr;
    double* values = nullptr;    // coefficients added at positions[...] * lanes + lane, or null
    double* rhs = nullptr;       // (H*W, lanes) right-hand side b, or null
    double* residual = nullptr;  // (H*W, lanes) b − A(lag)·lag, or null
    double* speed = nullptr;     // (lanes) max |v| per lane, required
};

// v = ½g² G_h(lag) − f; the matrix row of the scheme at every node (DESIGN §2.2).
void assemble_lanes(const Grid& grid, Scheme scheme, index_t lanes, const StepInputs& in, const StepOutputs& out);

}  // namespace fpscore::detail
