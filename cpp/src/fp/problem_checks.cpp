#include "fp/problem_checks.hpp"

#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/format.hpp"

namespace fpscore::detail {

void require(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
}

bool all_finite(const double* x, std::size_t count) {
    for (size_t k = 0; k < count; ++k)
        if (!std::isfinite(x[k])) return false;
    return true;
}

void validate_grid(const Grid& grid) {
    require(grid.rows >= 3 && grid.cols >= 3,
            "the grid must be at least 3x3, got " + std::to_string(grid.rows) + "x" +
                std::to_string(grid.cols));
    require(grid.padded_size() <= kMaxGridNodes,
            "the grid " + std::to_string(grid.rows) + "x" + std::to_string(grid.cols) + " is too large: " +
                std::to_string(grid.padded_size()) + " nodes with the ghost ring ((H+2)*(W+2)), at most " +
                std::to_string(kMaxGridNodes) + " (2^31 - 1, 32-bit node indices) are supported");
    require(std::isfinite(grid.h) && grid.h > 0.0,
            "grid spacing h must be finite and > 0, got " + str(grid.h));
}

void require_size(ArrayView a, std::size_t expected, const char* name, const char* shape) {
    require(a.size == expected && (a.data != nullptr || expected == 0),
            std::string(name) + " must hold " + shape + " = " + std::to_string(expected) + " values, got " +
                std::to_string(a.size));
}

void validate_problem(const FPProblem& pb, ArrayView m0, const FPOptions& opt) {
    validate_grid(pb.grid);
    require(pb.batch >= 1, "batch must be >= 1, got " + std::to_string(pb.batch));
    require(pb.n_steps >= 1 && pb.n_steps < std::numeric_limits<index_t>::max(),
            "n_steps must lie in [1, 2^31 - 2], got " + std::to_string(pb.n_steps));
    require(pb.times.given() && pb.g.given() && m0.given(), "times, g and m0 are required");
    const auto levels = static_cast<size_t>(pb.n_steps) + 1;
    const auto cells = static_cast<size_t>(pb.grid.size());
    const auto batch = static_cast<size_t>(pb.batch);
    require_size(pb.times, levels, "times", "(N+1)");
    require_size(pb.g, levels, "g", "(N+1)");
    require_size(m0, batch * cells, "m0", "(B, H, W)");
    for (size_t n = 0; n < levels; ++n) {
        require(std::isfinite(pb.times[n]), "times must be finite");
        require(n == 0 || pb.times[n] > pb.times[n - 1], "times must increase strictly");
        require(std::isfinite(pb.g[n]) && pb.g[n] >= 0.0, "g(t) must be finite and >= 0");
    }
    require(all_finite(m0.data, cells * batch), "m0 contains NaN or inf");
    require(pb.drift.given() == pb.drift_div.given(), "drift and its divergence must be given together");
    if (pb.drift.given()) {
        require_size(pb.drift, levels * 2 * cells, "drift", "(N+1, 2, H, W)");
        require_size(pb.drift_div, levels * cells, "drift divergence", "(N+1, H, W)");
        require(all_finite(pb.drift.data, levels * 2 * cells), "drift contains NaN or inf");
        require(all_finite(pb.drift_div.data, levels * cells), "drift divergence contains NaN or inf");
    }
    if (pb.boundary == Boundary::Dirichlet) {
        require(pb.ghosts.given(), "the 'dirichlet' boundary needs ghost values");
        const size_t ring = levels * batch * static_cast<size_t>(pb.grid.padded_size());
        require_size(pb.ghosts, ring, "Dirichlet ghost values", "(N+1, B, H+2, W+2)");
        require(all_finite(pb.ghosts.data, ring), "Dirichlet ghost values contain NaN or inf");
    }
    require(std::isfinite(opt.tol) && opt.tol > 0.0, "tol must be finite and > 0");
    require(opt.max_iter >= 1, "max_iter must be >= 1, got " + std::to_string(opt.max_iter));
    require(opt.threads >= 0, "threads must be >= 0 (0 = all hardware threads)");
}

}  // namespace fpscore::detail
