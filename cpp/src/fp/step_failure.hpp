// The errors of a failed time step of the Fokker–Planck solver (private header), shared by
// every backend: which batch member and step, the numbers that decide stability (Δt, g,
// max|v|, h) and what to change.
#pragma once

#include <string>

#include "fpscore/fp/solver.hpp"

namespace fpscore::detail {

// "dt=…, g=…, max|v|=…, h=…. <what to change>" for step n.
std::string step_advice(const FPProblem& pb, const FPOptions& opt, index_t n, double speed, bool more_iterations);

// ConvergenceError: member b did not converge at step n (last change `change`), or its values
// became non-finite (finite = false).
[[noreturn]] void fail(const FPProblem& pb, const FPOptions& opt, index_t b, index_t n, double change,
                       double speed, bool finite);

// ConvergenceError: the system of step n for member b could not be factorised (`what`: the
// pivot that failed).
[[noreturn]] void fail_factor(const FPProblem& pb, const FPOptions& opt, index_t b, index_t n, double speed,
                              bool finite_values, const std::string& what);

}  // namespace fpscore::detail
