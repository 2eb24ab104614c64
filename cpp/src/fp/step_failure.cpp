#include "fp/step_failure.hpp"

#include <cmath>
#include <sstream>
#include <string>

#include "fpscore/errors.hpp"

namespace fpscore::detail {

// The step size and the numbers that decide whether the scheme is stable (DESIGN §2.2).
std::string step_advice(const FPProblem& pb, const FPOptions& opt, index_t n, double speed, bool more_iterations) {
    const double dt = pb.times[n] - pb.times[n - 1], g = pb.g[n], h = pb.grid.h;
    std::ostringstream msg;
    msg << "dt=" << dt << ", g=" << g << ", max|v|=" << speed << ", h=" << h << ". ";
    if (opt.scheme == Scheme::Central)
        msg << "The central scheme is diagonally dominant only while max|v|*h <= g^2 (here " << speed * h
            << " vs " << g * g << "); use scheme=\"upwind\""
            << (more_iterations ? ", a larger n_steps or a larger max_iter." : " or a larger n_steps (a smaller dt).");
    else
        msg << "Use a larger n_steps" << (more_iterations ? " or a larger max_iter." : " (a smaller dt).");
    return msg.str();
}

void fail(const FPProblem& pb, const FPOptions& opt, index_t b, index_t n, double change,
                       double speed, bool finite) {
    std::ostringstream msg;
    msg << (opt.iteration == Iteration::Picard ? "Picard iteration" : "policy iteration");
    if (!finite)
        msg << " produced non-finite values";
    else
        msg << " did not converge in max_iter=" << opt.max_iter
            << (opt.iteration == Iteration::Picard ? " iterations" : " sweeps") << " (last change " << change
            << " > tol=" << opt.tol << ")";
    msg << " at step n=" << n << " (t=" << pb.times[n] << "), batch member " << b << ": "
        << step_advice(pb, opt, n, speed, true);
    throw ConvergenceError(msg.str());
}

// The system of step n for batch member b could not be factorised (`what`: the pivot that
// failed). Every FP matrix is nonsingular in exact arithmetic (strictly diagonally
// dominant, or an M-matrix for upwinding), so the step size is the cause: values grown to
// inf/NaN, the central scheme past diagonal dominance (max|v|*h > g^2), or max|v|*dt/h so
// large that pivots fall below the static-pivoting threshold. A ConvergenceError names the
// member and the step and says what to change.
void fail_factor(const FPProblem& pb, const FPOptions& opt, index_t b, index_t n, double speed,
                              bool finite_values, const std::string& what) {
    const double g = pb.g[n], h = pb.grid.h, dt = pb.times[n] - pb.times[n - 1];
    std::ostringstream msg;
    msg << "the linear system of step n=" << n << " (t=" << pb.times[n] << ") for batch member " << b;
    if (!finite_values || !std::isfinite(speed))
        msg << " has non-finite values";
    else if (opt.scheme == Scheme::Central && !(speed * h <= g * g))
        msg << " lost diagonal dominance";
    else
        msg << " is too ill-conditioned for static pivoting (max|v|*dt/h = " << speed * dt / h << ")";
    msg << " and could not be factorised (" << what << "): " << step_advice(pb, opt, n, speed, false);
    throw ConvergenceError(msg.str());
}

}  // namespace fpscore::detail
