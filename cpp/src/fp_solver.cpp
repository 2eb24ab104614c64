// Time stepping of the semi-explicit FP scheme: Picard per step or policy sweeps,
// over a batch of independent fields that share one symbolic factorisation.
#include "fpscore/fp_solver.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "fp_stencil.hpp"
#include "fpscore/errors.hpp"
#include "fpscore/sparse_lu.hpp"

namespace fpscore {
namespace {

using detail::kNeighbours;
using detail::Stencil;

void require(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
}

bool all_finite(const double* x, size_t count) {
    for (size_t k = 0; k < count; ++k)
        if (!std::isfinite(x[k])) return false;
    return true;
}

double max_abs(const double* x, index_t count) {
    double r = 0.0;
    for (index_t k = 0; k < count; ++k) r = std::max(r, std::abs(x[k]));
    return r;
}

double max_abs_diff(const double* x, const double* y, index_t count) {
    double r = 0.0;
    for (index_t k = 0; k < count; ++k) r = std::max(r, std::abs(x[k] - y[k]));
    return r;
}

void validate_grid(const Grid& grid) {
    require(grid.rows >= 3 && grid.cols >= 3,
            "the grid must be at least 3x3, got " + std::to_string(grid.rows) + "x" +
                std::to_string(grid.cols));
    require(std::isfinite(grid.h) && grid.h > 0.0,
            "grid spacing h must be finite and > 0, got " + std::to_string(grid.h));
}

void validate(const FPProblem& pb, const double* m0, const FPOptions& opt) {
    validate_grid(pb.grid);
    require(pb.batch >= 1, "batch must be >= 1, got " + std::to_string(pb.batch));
    require(pb.n_steps >= 1, "n_steps must be >= 1, got " + std::to_string(pb.n_steps));
    require(pb.times != nullptr && pb.g != nullptr && m0 != nullptr, "times, g and m0 are required");
    const auto levels = static_cast<size_t>(pb.n_steps) + 1;
    for (size_t n = 0; n < levels; ++n) {
        require(std::isfinite(pb.times[n]), "times must be finite");
        require(n == 0 || pb.times[n] > pb.times[n - 1], "times must increase strictly");
        require(std::isfinite(pb.g[n]) && pb.g[n] >= 0.0, "g(t) must be finite and >= 0");
    }
    const auto cells = static_cast<size_t>(pb.grid.size());
    require(all_finite(m0, cells * static_cast<size_t>(pb.batch)), "m0 contains NaN or inf");
    require((pb.drift == nullptr) == (pb.drift_div == nullptr),
            "drift and its divergence must be given together");
    if (pb.drift != nullptr) {
        require(all_finite(pb.drift, levels * 2 * cells), "drift contains NaN or inf");
        require(all_finite(pb.drift_div, levels * cells), "drift divergence contains NaN or inf");
    }
    if (pb.boundary == Boundary::Dirichlet) {
        require(pb.ghosts != nullptr, "the 'dirichlet' boundary needs ghost values");
        require(all_finite(pb.ghosts, levels * static_cast<size_t>(pb.batch) *
                                          static_cast<size_t>(pb.grid.padded_size())),
                "Dirichlet ghost values contain NaN or inf");
    }
    require(std::isfinite(opt.tol) && opt.tol > 0.0, "tol must be finite and > 0");
    require(opt.max_iter >= 1, "max_iter must be >= 1, got " + std::to_string(opt.max_iter));
    require(opt.threads >= 0, "threads must be >= 0 (0 = all hardware threads)");
}

// Per-thread workspace: solves one linear system of the scheme at a time.
class StepSolver {
public:
    StepSolver(const Stencil& stencil, std::shared_ptr<const SymbolicLU> symbolic,
               const FPProblem& problem, Scheme scheme)
        : stencil_(stencil), problem_(problem), scheme_(scheme), lu_(std::move(symbolic)) {
        const auto& slots = stencil.slots();
        const auto& to_factor = lu_.symbolic().matrix_to_factor();
        positions_.resize(slots.size());
        for (size_t k = 0; k < slots.size(); ++k)
            positions_[k] = slots[k] < 0 ? -1 : to_factor[static_cast<size_t>(slots[k])];
        const auto n = static_cast<size_t>(stencil.grid().size());
        padded_.resize(static_cast<size_t>(stencil.grid().padded_size()));
        rhs_.resize(n);
        work_.resize(n);
    }

    // Ghost ring of member b at level n (Dirichlet), else null.
    const double* ghosts(index_t n, index_t b) const {
        if (problem_.ghosts == nullptr) return nullptr;
        const auto stride = static_cast<size_t>(problem_.grid.padded_size());
        return problem_.ghosts + (static_cast<size_t>(n) * problem_.batch + b) * stride;
    }

    // m_new from m_prev (level n-1) with lagged iterate m_lag; returns max |v|.
    double step(index_t n, index_t b, const double* m_prev, const double* m_lag, double* m_new) {
        const auto cells = static_cast<size_t>(problem_.grid.size());
        stencil_.pad(m_lag, ghosts(n, b), padded_.data());
        const double* drift = problem_.drift ? problem_.drift + n * 2 * cells : nullptr;
        const double* div = problem_.drift_div ? problem_.drift_div + n * cells : nullptr;
        const double dt = problem_.times[n] - problem_.times[n - 1];
        auto& values = lu_.values();
        std::fill(values.begin(), values.end(), 0.0);
        const double speed = detail::assemble_step(stencil_, scheme_, padded_.data(), m_prev,
                                                   problem_.g[n], dt, drift, div, positions_.data(),
                                                   values.data(), rhs_.data());
        lu_.factor_assembled();
        lu_.solve(rhs_.data(), 1, work_.data());
        std::copy(rhs_.begin(), rhs_.end(), m_new);
        return speed;
    }

    void gradient(index_t n, index_t b, const double* m, double* grad) {
        stencil_.pad(m, ghosts(n, b), padded_.data());
        detail::central_gradient_padded(problem_.grid, padded_.data(), grad);
    }

private:
    const Stencil& stencil_;
    const FPProblem& problem_;
    Scheme scheme_;
    SparseLU lu_;
    std::vector<offset_t> positions_;
    std::vector<double> padded_, rhs_, work_;
};

[[noreturn]] void fail(const FPProblem& pb, const FPOptions& opt, index_t b, index_t n,
                       double change, double speed, bool finite) {
    const double dt = pb.times[n] - pb.times[n - 1], g = pb.g[n], h = pb.grid.h;
    std::ostringstream msg;
    msg << (opt.iteration == Iteration::Picard ? "Picard iteration" : "policy iteration");
    if (!finite)
        msg << " produced non-finite values";
    else
        msg << " did not converge in max_iter=" << opt.max_iter
            << (opt.iteration == Iteration::Picard ? " iterations" : " sweeps") << " (last change "
            << change << " > tol=" << opt.tol << ")";
    msg << " at step n=" << n << " (t=" << pb.times[n] << "), batch member " << b << ": dt=" << dt
        << ", g=" << g << ", max|v|=" << speed << ", h=" << h << ". ";
    if (opt.scheme == Scheme::Central)
        msg << "The central scheme is diagonally dominant only while max|v|*h <= g^2 (here "
            << speed * h << " vs " << g * g << "); use scheme=\"upwind\", a larger n_steps";
    else
        msg << "Use a larger n_steps";
    msg << " or a larger max_iter.";
    throw ConvergenceError(msg.str());
}

// Picard: iterate each step to its fixed point. Writes levels 1..N of traj (N+1, cells).
void picard(StepSolver& s, const FPProblem& pb, const FPOptions& opt, index_t b, double* traj,
            int* iterations) {
    const index_t cells = pb.grid.size();
    std::vector<double> lag(static_cast<size_t>(cells));
    for (index_t n = 1; n <= pb.n_steps; ++n) {
        const double* prev = traj + (n - 1) * cells;
        double* cur = traj + n * cells;
        std::copy_n(prev, cells, lag.data());
        bool converged = false;
        double change = 0.0, speed = 0.0;
        int k = 0;
        while (!converged && k < opt.max_iter) {
            speed = s.step(n, b, prev, lag.data(), cur);
            ++k;
            if (!all_finite(cur, static_cast<size_t>(cells))) fail(pb, opt, b, n, change, speed, false);
            change = max_abs_diff(cur, lag.data(), cells);
            converged = change <= opt.tol * std::max(1.0, max_abs(cur, cells));
            std::copy_n(cur, cells, lag.data());
        }
        if (!converged) fail(pb, opt, b, n, change, speed, true);
        iterations[n - 1] = k;
    }
}

// Policy iteration (Algorithm 1): sweep all steps with the lagged trajectory of the
// previous sweep until the whole trajectory stops changing.
void policy(StepSolver& s, const FPProblem& pb, const FPOptions& opt, index_t b, double* traj,
            int* iterations) {
    const index_t cells = pb.grid.size();
    const auto size = static_cast<size_t>(pb.n_steps + 1) * static_cast<size_t>(cells);
    std::vector<double> old(size);
    for (index_t n = 0; n <= pb.n_steps; ++n) std::copy_n(traj, cells, old.data() + n * cells);
    double change = 0.0, speed = 0.0, scale = 1.0;
    index_t worst = 1;
    for (int sweep = 1; sweep <= opt.max_iter; ++sweep) {
        change = 0.0;
        scale = 1.0;
        for (index_t n = 1; n <= pb.n_steps; ++n) {
            double* cur = traj + n * cells;
            const double sp = s.step(n, b, traj + (n - 1) * cells, old.data() + n * cells, cur);
            if (!all_finite(cur, static_cast<size_t>(cells))) fail(pb, opt, b, n, change, sp, false);
            const double c = max_abs_diff(cur, old.data() + n * cells, cells);
            if (c >= change) {
                change = c;
                worst = n;
                speed = sp;
            }
            scale = std::max(scale, max_abs(cur, cells));
        }
        if (change <= opt.tol * scale) {
            std::fill(iterations, iterations + pb.n_steps, sweep);
            return;
        }
        std::copy(traj, traj + size, old.data());
    }
    fail(pb, opt, b, worst, change, speed, true);
}

// Writes member b's trajectory (N+1, cells) into the (N+1, B, cells) layout.
void scatter_member(const FPProblem& pb, index_t b, const double* traj, double* batched) {
    const index_t cells = pb.grid.size();
    for (index_t n = 0; n <= pb.n_steps; ++n)
        std::copy_n(traj + static_cast<size_t>(n) * cells, cells,
                    batched + (static_cast<size_t>(n) * pb.batch + b) * cells);
}

}  // namespace

FPSolution solve_log_density(const FPProblem& pb, const double* m0, const FPOptions& opt) {
    validate(pb, m0, opt);
    const Stencil stencil(pb.grid, pb.boundary);
    auto symbolic = std::make_shared<const SymbolicLU>(stencil.pattern(), Ordering::NestedDissection,
                                                       stencil.grid_shape());
    const index_t cells = pb.grid.size(), B = pb.batch, N = pb.n_steps;
    FPSolution sol;
    sol.m.assign(static_cast<size_t>(N + 1) * B * cells, 0.0);
    sol.score.assign(static_cast<size_t>(N + 1) * B * 2 * cells, 0.0);
    std::vector<int> member_iterations(static_cast<size_t>(B) * N, 0);
    std::copy_n(m0, static_cast<size_t>(B) * cells, sol.m.data());

    std::atomic<index_t> next{0};
    std::mutex error_mutex;
    index_t error_member = B;
    std::exception_ptr error;

    auto worker = [&]() {
        StepSolver solver(stencil, symbolic, pb, opt.scheme);
        std::vector<double> traj(static_cast<size_t>(N + 1) * cells);
        for (index_t b = next++; b < B; b = next++) {
            try {
                std::copy_n(m0 + static_cast<size_t>(b) * cells, cells, traj.data());
                int* its = member_iterations.data() + static_cast<size_t>(b) * N;
                if (opt.iteration == Iteration::Picard)
                    picard(solver, pb, opt, b, traj.data(), its);
                else
                    policy(solver, pb, opt, b, traj.data(), its);
                scatter_member(pb, b, traj.data(), sol.m.data());
                for (index_t n = 0; n <= N; ++n)
                    solver.gradient(n, b, traj.data() + n * cells,
                                    sol.score.data() + (static_cast<size_t>(n) * B + b) * 2 * cells);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (b < error_member) {  // report the lowest failing member: deterministic
                    error_member = b;
                    error = std::current_exception();
                }
            }
        }
    };

    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const auto threads = static_cast<index_t>(
        std::min<long long>(B, opt.threads == 0 ? hw : static_cast<unsigned>(opt.threads)));
    if (threads <= 1) {
        worker();
    } else {
        std::vector<std::thread> pool;
        for (index_t t = 0; t < threads; ++t) pool.emplace_back(worker);
        for (auto& t : pool) t.join();
    }
    if (error) std::rethrow_exception(error);

    sol.iterations.assign(static_cast<size_t>(N), 0);
    for (index_t b = 0; b < B; ++b)
        for (index_t n = 0; n < N; ++n)
            sol.iterations[n] = std::max(sol.iterations[n], member_iterations[b * N + n]);
    return sol;
}

FPSystem assemble_fp_system(const Grid& grid, Boundary boundary, Scheme scheme,
                            const double* m_prev, const double* m_lag, double g, double dt,
                            const double* drift, const double* drift_div, const double* ghosts) {
    validate_grid(grid);
    require(m_prev != nullptr && m_lag != nullptr, "m_prev and m_lag are required");
    require(std::isfinite(g) && g >= 0.0, "g must be finite and >= 0");
    require(std::isfinite(dt) && dt > 0.0, "dt must be finite and > 0");
    require((drift == nullptr) == (drift_div == nullptr),
            "drift and its divergence must be given together");
    require(boundary != Boundary::Dirichlet || ghosts != nullptr,
            "the 'dirichlet' boundary needs ghost values");
    const Stencil stencil(grid, boundary);
    FPSystem sys;
    sys.indptr = stencil.indptr();
    sys.indices = stencil.indices();
    sys.data.assign(sys.indices.size(), 0.0);
    sys.rhs.assign(static_cast<size_t>(grid.size()), 0.0);
    std::vector<double> padded(static_cast<size_t>(grid.padded_size()));
    stencil.pad(m_lag, ghosts, padded.data());
    detail::assemble_step(stencil, scheme, padded.data(), m_prev, g, dt, drift, drift_div,
                          stencil.slots().data(), sys.data.data(), sys.rhs.data());
    return sys;
}

std::vector<double> central_gradient(const Grid& grid, Boundary boundary, const double* m,
                                     const double* ghosts) {
    validate_grid(grid);
    require(boundary != Boundary::Dirichlet || ghosts != nullptr,
            "the 'dirichlet' boundary needs ghost values");
    const Stencil stencil(grid, boundary);
    std::vector<double> padded(static_cast<size_t>(grid.padded_size()));
    std::vector<double> grad(2 * static_cast<size_t>(grid.size()));
    stencil.pad(m, ghosts, padded.data());
    detail::central_gradient_padded(grid, padded.data(), grad.data());
    return grad;
}

}  // namespace fpscore
