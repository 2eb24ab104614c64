// Iterative refinement of a solution of A x = b against A itself, and the normwise backward
// error ‖b − A x‖∞ / (‖A‖∞ ‖x‖∞ + ‖b‖∞) that decides when to stop (private header).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "fpscore/sparse/csr.hpp"

namespace fpscore::detail {

// ‖A‖∞: the largest absolute row sum.
double infinity_norm(const CsrView& a, const double* values);

// r = b − A x for nrhs right-hand sides (row-major (n, nrhs)).
void residual(const CsrView& a, const double* values, const double* x, const double* b, double* r, index_t nrhs);

// The worst right-hand side's normwise backward error of x given its residual r.
double backward_error(const double* r, const double* x, const double* b, index_t n, index_t nrhs, double norm_a);

struct RefinementResult {
    int steps = 0;
    double backward_error = 0.0;
};

// Refines x (row-major (n, nrhs)) by x += solve(b − A x) while the backward error stays
// above 2ε = 4.4e-16 (below it a step rarely gains, and costs a solve) and at least halves,
// at most max_steps times; a step that does not lower the error is undone.
// `solve_in_place(double* v)` overwrites v with the factors' solution of A d = v.
template <class SolveInPlace>
RefinementResult refine(const CsrView& a, const double* values, double norm_a, const double* b, double* x,
                        index_t nrhs, int max_steps, SolveInPlace&& solve_in_place) {
    const std::size_t size = static_cast<std::size_t>(a.n) * static_cast<std::size_t>(nrhs);
    std::vector<double> r(size), candidate(size);
    residual(a, values, x, b, r.data(), nrhs);
    RefinementResult result{0, backward_error(r.data(), x, b, a.n, nrhs, norm_a)};
    constexpr double kTarget = 2 * 2.220446049250313e-16;
    while (result.steps < max_steps && result.backward_error > kTarget) {
        solve_in_place(r.data());
        for (std::size_t i = 0; i < size; ++i) candidate[i] = x[i] + r[i];
        residual(a, values, candidate.data(), b, r.data(), nrhs);
        const double error = backward_error(r.data(), candidate.data(), b, a.n, nrhs, norm_a);
        if (!(error < result.backward_error)) break;  // no gain (or NaN): keep x
        std::copy(candidate.begin(), candidate.end(), x);
        ++result.steps;
        const bool stalled = error > 0.5 * result.backward_error;
        result.backward_error = error;
        if (stalled) break;
    }
    return result;
}

}  // namespace fpscore::detail
