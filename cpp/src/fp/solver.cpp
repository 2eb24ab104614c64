// Time stepping of the semi-explicit FP scheme: Picard per step or policy sweeps,
// over a batch of independent fields that share one symbolic factorisation.
#include "fpscore/fp/solver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>

#include "common/aligned_vector.hpp"
#include "common/format.hpp"
#include "common/parallel.hpp"
#include "common/recent_cache.hpp"
#include "common/simd_dispatch.hpp"
#include "fp/assembly.hpp"
#include "fp/batch_solver.hpp"
#include "fp/problem_checks.hpp"
#include "fp/refresh_rule.hpp"
#include "fp/step_failure.hpp"
#include "fp/stencil.hpp"
#include "fpscore/errors.hpp"
#include "sparse/numeric/packed_lu.hpp"

namespace fpscore {
namespace {

using detail::kNeighbours;
constexpr index_t kMaxLanes = PackedLU::kMaxLanes;
using detail::Stencil;
using detail::all_finite;
using detail::fail;
using detail::fail_factor;
using detail::require;
using detail::require_size;
using detail::stale_threshold;
using detail::validate_grid;

// One Picard correction on interleaved fields: lag += delta on the lanes still iterating
// (l < count and not done), with per lane max |delta|, max |lag| and whether all were finite.
struct Correction {
    double* lag;
    const double* delta;
    index_t cells;
    const bool* done;
    index_t count;
};

template <int L>
FPSCORE_INLINE void apply_correction(const Correction& c, double* change, double* scale, bool* finite) {
    using Ops = detail::VectorOps<L>;
    using V = typename Ops::V;
    V live{};
    for (index_t l = 0; l < L; ++l) live[l] = l < c.count && !c.done[l] ? 1.0 : 0.0;
    V largest_change{}, largest{}, probe{};
    for (index_t p = 0; p < c.cells; ++p) {
        double* at = c.lag + static_cast<offset_t>(p) * L;
        const V d = live > 0.0 ? Ops::load(c.delta + static_cast<offset_t>(p) * L) : V{};
        const V x = Ops::load(at) + d;
        Ops::store(at, x);
        largest_change = Ops::max_abs(largest_change, d);
        largest = Ops::max_abs(largest, x);
        probe += x - x;  // stays 0 while every x is finite, NaN otherwise
    }
    for (index_t l = 0; l < L; ++l) {
        change[l] = largest_change[l];
        scale[l] = largest[l];
        finite[l] = probe[l] == 0.0;
    }
}

// apply_correction for a pack of `lanes` (one dispatched kernel, branching on the lane count).
FPSCORE_INLINE void apply_correction_lanes_body(index_t lanes, const Correction& c, double* change, double* scale,
                                                bool* finite) {
    if (lanes == PackedLU::kMaxLanes)
        apply_correction<PackedLU::kMaxLanes>(c, change, scale, finite);
    else
        apply_correction<PackedLU::kNarrowLanes>(c, change, scale, finite);
}
FPSCORE_SIMD_KERNEL(void, apply_correction_lanes,
                    (index_t lanes, const Correction& c, double* change, double* scale, bool* finite),
                    (lanes, c, change, scale, finite))

// Solves up to `lanes` batch members together, their fields interleaved lane-wise.
class PackSolver {
public:
    PackSolver(const Stencil& stencil, std::shared_ptr<const SymbolicLU> symbolic, const FPProblem& pb,
               const FPOptions& opt, index_t lanes)
        : stencil_(stencil), pb_(pb), opt_(opt), lu_(detail::make_cpu_batch_solver(std::move(symbolic), lanes)),
          lanes_(lanes) {
        cells_ = static_cast<index_t>(pb.grid.size());  // validated: below kMaxGridNodes
        const auto field = static_cast<size_t>(cells_) * lanes_;
        for (auto* v : {&prev_, &older_, &oldest_, &lag_, &delta_, &work_}) v->assign(field, 0.0);
        padded_.assign(static_cast<size_t>(pb.grid.padded_size()) * lanes_, 0.0);
        if (opt.iteration == Iteration::Policy) old_.assign(static_cast<size_t>(pb.n_steps + 1) * field, 0.0);
    }

    // Members [first, first + count): reads their m0 from m (level 0) and writes levels 1..N
    // of m (N+1, B, H*W) and their iteration counts (B, N).
    void solve(index_t first, index_t count, double* m, int* iterations) {
        first_ = first;
        count_ = count;
        stale_ = true;  // a new pack: nothing factorised for it yet
        fresh_ratio_ = 0.0;
        gather(m, 0, prev_.data());
        if (opt_.iteration == Iteration::Picard)
            picard(m, iterations);
        else
            policy(m, iterations);
    }

private:
    index_t member(index_t lane) const { return first_ + std::min(lane, count_ - 1); }
    size_t at(index_t node, index_t lane) const { return static_cast<size_t>(node) * lanes_ + lane; }
    double* level(double* m, index_t n, index_t lane) const {
        return m + (static_cast<size_t>(n) * pb_.batch + member(lane)) * cells_;
    }
    // Level n of the pack's members from m into an interleaved field (unused lanes copy lane 0).
    void gather(double* m, index_t n, double* field) const {
        for (index_t l = 0; l < lanes_; ++l) {
            const double* src = level(m, n, l);
            for (index_t p = 0; p < cells_; ++p) field[at(p, l)] = src[p];
        }
    }
    void scatter(const double* field, double* m, index_t n) const {
        for (index_t l = 0; l < count_; ++l) {
            double* dst = level(m, n, l);
            for (index_t p = 0; p < cells_; ++p) dst[p] = field[at(p, l)];
        }
    }

    // delta = F⁻¹ (b − A(lag)·lag) for step n from prev; refactorises F first when stale.
    void correction(index_t n, const double* prev, const double* lag, double* speed) {
        const double* ghosts[kMaxLanes];
        if (pb_.ghosts.given()) {
            const auto ring = static_cast<size_t>(pb_.grid.padded_size());
            for (index_t l = 0; l < lanes_; ++l)
                ghosts[l] = pb_.ghosts.data + (static_cast<size_t>(n) * pb_.batch + member(l)) * ring;
        }
        stencil_.pad_lanes(lag, pb_.ghosts.given() ? ghosts : nullptr, lanes_, padded_.data());
        const auto cells = static_cast<size_t>(cells_);
        detail::StepInputs in;
        in.padded_lag = padded_.data();
        in.m_prev = prev;
        in.g = pb_.g[n];
        in.dt = pb_.times[n] - pb_.times[n - 1];
        in.drift = pb_.drift.given() ? pb_.drift.data + static_cast<size_t>(n) * 2 * cells : nullptr;
        in.drift_div = pb_.drift_div.given() ? pb_.drift_div.data + static_cast<size_t>(n) * cells : nullptr;
        detail::StepOutputs out;
        out.positions = stencil_.slots().data();  // the analysed matrix is the stencil's pattern
        out.residual = delta_.data();
        out.speed = speed;
        const bool refactor = stale_ || opt_.iteration == Iteration::Policy;
        if (refactor) {
            std::fill_n(lu_->values(), lu_->value_count(), 0.0);
            out.values = lu_->values();
        }
        detail::assemble_lanes(pb_.grid, opt_.scheme, lanes_, in, out);
        if (refactor) {
            try {
                lu_->factor(count_);
            } catch (const SingularMatrixError& e) {
                const index_t lane = std::max<index_t>(lu_->failed_system(), 0);
                const double* values = lu_->values();
                bool finite = true;
                for (size_t k = static_cast<size_t>(lane); k < lu_->value_count(); k += static_cast<size_t>(lanes_))
                    finite = finite && std::isfinite(values[k]);
                fail_factor(pb_, opt_, member(lane), n, speed[lane], finite, e.what());
            }
            stale_ = false;
        }
        lu_->solve(delta_.data(), work_.data());
    }

    void picard(double* m, int* iterations) {
        const index_t N = pb_.n_steps;
        for (index_t n = 1; n <= N; ++n) {
            // First guess: extrapolation of the last levels (quadratic once three exist).
            for (size_t k = 0; k < lag_.size(); ++k)
                lag_[k] = n >= 3   ? 3.0 * (prev_[k] - older_[k]) + oldest_[k]
                          : n == 2 ? 2.0 * prev_[k] - older_[k]
                                   : prev_[k];
            bool done[kMaxLanes] = {};
            double last_change[kMaxLanes] = {}, speed[kMaxLanes] = {};
            index_t remaining = count_;
            for (int k = 1; remaining > 0; ++k) {
                if (k > opt_.max_iter) {
                    for (index_t l = 0; l < count_; ++l)
                        if (!done[l]) fail(pb_, opt_, member(l), n, last_change[l], speed[l], true);
                }
                const bool fresh = stale_;  // correction() refactorises first
                correction(n, prev_.data(), lag_.data(), speed);
                double worst_ratio = 0.0, changes[kMaxLanes], scales[kMaxLanes];
                bool finite[kMaxLanes];
                const Correction step{lag_.data(), delta_.data(), cells_, done, count_};
                apply_correction_lanes(lanes_, step, changes, scales, finite);
                for (index_t l = 0; l < count_; ++l) {
                    if (done[l]) continue;
                    const double change = changes[l], scale = scales[l];
                    if (!finite[l]) fail(pb_, opt_, member(l), n, change, speed[l], false);
                    if (k > 1 && last_change[l] > 0.0) worst_ratio = std::max(worst_ratio, change / last_change[l]);
                    last_change[l] = change;
                    if (change <= opt_.tol * std::max(1.0, scale)) {
                        done[l] = true;
                        --remaining;
                        iterations[static_cast<size_t>(member(l)) * N + (n - 1)] = k;
                    }
                }
                if (fresh && k > 1)
                    fresh_ratio_ = worst_ratio;
                else if (!fresh && worst_ratio > stale_threshold(fresh_ratio_))
                    stale_ = true;
            }
            scatter(lag_.data(), m, n);
            oldest_.swap(older_);
            older_.swap(prev_);
            prev_.swap(lag_);
        }
    }

    // Algorithm 1 of the paper: sweep all steps, each with the previous sweep's level n as
    // its lagged iterate, until the whole trajectory stops changing. Exact solves (F = A).
    void policy(double* m, int* iterations) {
        const index_t N = pb_.n_steps;
        const size_t field = prev_.size();
        for (index_t n = 0; n <= N; ++n) std::copy(prev_.begin(), prev_.end(), old_.begin() + n * field);
        bool done[kMaxLanes] = {};
        double last_change[kMaxLanes] = {}, speed[kMaxLanes] = {};
        index_t worst_step[kMaxLanes] = {}, remaining = count_;
        for (int sweep = 1; remaining > 0; ++sweep) {
            if (sweep > opt_.max_iter) {
                for (index_t l = 0; l < count_; ++l)
                    if (!done[l]) fail(pb_, opt_, member(l), worst_step[l], last_change[l], speed[l], true);
            }
            double change[kMaxLanes] = {}, scale[kMaxLanes] = {};
            std::copy(old_.begin(), old_.begin() + field, lag_.begin());  // level 0 is fixed
            for (index_t n = 1; n <= N; ++n) {
                const double* lagged = old_.data() + n * field;
                double step_speed[kMaxLanes];
                correction(n, lag_.data(), lagged, step_speed);  // lag_ holds the new level n-1
                for (size_t k = 0; k < field; ++k) work_[k] = lagged[k] + delta_[k];
                for (index_t l = 0; l < count_; ++l) {
                    double c = 0.0;
                    for (index_t p = 0; p < cells_; ++p) {
                        const size_t k = at(p, l);
                        c = std::max(c, std::abs(work_[k] - lagged[k]));
                        scale[l] = std::max(scale[l], std::abs(work_[k]));
                    }
                    if (!std::isfinite(c)) fail(pb_, opt_, member(l), n, c, step_speed[l], false);
                    if (c >= change[l]) {
                        change[l] = c;
                        worst_step[l] = n;
                        speed[l] = step_speed[l];
                    }
                }
                std::copy(work_.begin(), work_.end(), lag_.begin());
                std::copy(work_.begin(), work_.end(), old_.begin() + n * field);
            }
            for (index_t l = 0; l < count_; ++l) {
                if (done[l]) continue;
                last_change[l] = change[l];
                if (change[l] <= opt_.tol * std::max(1.0, scale[l])) {
                    done[l] = true;
                    --remaining;
                    std::fill_n(iterations + static_cast<size_t>(member(l)) * N, N, sweep);
                    for (index_t n = 1; n <= N; ++n) {
                        const double* src = old_.data() + n * field;
                        double* dst = level(m, n, l);
                        for (index_t p = 0; p < cells_; ++p) dst[p] = src[at(p, l)];
                    }
                }
            }
        }
    }

    const Stencil& stencil_;
    const FPProblem& pb_;
    const FPOptions& opt_;
    std::unique_ptr<detail::BatchSolver> lu_;  // the pack's systems (CPU: interleaved LU)
    index_t lanes_;
    index_t cells_ = 0, first_ = 0, count_ = 0;
    bool stale_ = true;
    double fresh_ratio_ = 0.0;  // the worst contraction last seen with a fresh F (Picard's own rate)
    aligned_vector<double> prev_, older_, oldest_, lag_, delta_, work_, padded_, old_;
};

// The stencil and symbolic factorisation of a (grid, boundary) pair, kept for later calls:
// every image, channel and call with that grid reuses one analysis.
struct Analysis {
    Stencil stencil;
    std::shared_ptr<const SymbolicLU> symbolic;
};

std::shared_ptr<const Analysis> analysis_for(const Grid& grid, Boundary boundary) {
    static detail::RecentCache<std::tuple<index_t, index_t, Boundary>, std::shared_ptr<const Analysis>, 8> cache;
    return cache.get(std::make_tuple(grid.rows, grid.cols, boundary), [&] {
        // The pattern does not depend on h, so an analysis serves every spacing.
        Stencil stencil(Grid{grid.rows, grid.cols, 1.0}, boundary);
        // Packs: minimum degree on small grids, nested dissection (the grid given) beyond.
        auto symbolic = analyse_for_packs(stencil.pattern(), Ordering::Automatic, stencil.grid_shape());
        return std::make_shared<const Analysis>(Analysis{std::move(stencil), std::move(symbolic)});
    });
}

}  // namespace

FPSolution solve_log_density(const FPProblem& pb, ArrayView m0, const FPOptions& opt) {
    detail::validate_problem(pb, m0, opt);
    const auto analysis = analysis_for(pb.grid, pb.boundary);
    const Stencil& stencil = analysis->stencil;  // geometry only: the spacing comes from pb.grid
    const auto& symbolic = analysis->symbolic;
    const offset_t cells = pb.grid.size();
    const index_t B = pb.batch, N = pb.n_steps;
    FPSolution sol;
    sol.m.assign(static_cast<size_t>(N + 1) * B * cells, 0.0);
    sol.score.assign(static_cast<size_t>(N + 1) * B * 2 * cells, 0.0);
    std::vector<int> member_iterations(static_cast<size_t>(B) * N, 0);
    std::copy_n(m0.data, static_cast<size_t>(B) * cells, sol.m.data());

    // Packs depend only on B (plan_packs), so results do not depend on the thread count.
    const std::vector<Pack> packs = plan_packs(B);
    const auto pack_count = static_cast<index_t>(packs.size());
    detail::parallel_for(pack_count, detail::thread_count(opt.threads, pack_count), [&] {
        // One solver per lane count, made when a pack of that width first comes along.
        return [&, wide = std::unique_ptr<PackSolver>(), narrow = std::unique_ptr<PackSolver>()](index_t k) mutable {
            const Pack& p = packs[static_cast<size_t>(k)];
            auto& solver = p.lanes == PackedLU::kMaxLanes ? wide : narrow;
            if (!solver) solver = std::make_unique<PackSolver>(stencil, symbolic, pb, opt, p.lanes);
            solver->solve(p.first, p.count, sol.m.data(), member_iterations.data());
        };
    });

    std::vector<double> padded(static_cast<size_t>(pb.grid.padded_size()));
    for (index_t n = 0; n <= N; ++n)
        for (index_t b = 0; b < B; ++b) {
            const size_t at = static_cast<size_t>(n) * B + b;
            const double* ghosts =
                pb.ghosts.given() ? pb.ghosts.data + at * static_cast<size_t>(pb.grid.padded_size()) : nullptr;
            stencil.pad(sol.m.data() + at * cells, ghosts, padded.data());
            detail::central_gradient_padded(pb.grid, padded.data(), sol.score.data() + at * 2 * cells);
        }

    sol.iterations.assign(static_cast<size_t>(N), 0);
    for (index_t b = 0; b < B; ++b)
        for (index_t n = 0; n < N; ++n)
            sol.iterations[n] = std::max(sol.iterations[n], member_iterations[static_cast<size_t>(b) * N + n]);
    return sol;
}

FPSystem assemble_fp_system(const Grid& grid, Boundary boundary, Scheme scheme, ArrayView m_prev,
                            ArrayView m_lag, double g, double dt, ArrayView drift, ArrayView drift_div,
                            ArrayView ghosts) {
    validate_grid(grid);
    detail::simd_level();  // an invalid FPSCORE_SIMD throws here, before any kernel runs
    require(m_prev.given() && m_lag.given(), "m_prev and m_lag are required");
    require(std::isfinite(g) && g >= 0.0, "g must be finite and >= 0, got " + detail::str(g));
    require(std::isfinite(dt) && dt > 0.0, "dt must be finite and > 0, got " + detail::str(dt));
    require(drift.given() == drift_div.given(), "drift and its divergence must be given together");
    require(boundary != Boundary::Dirichlet || ghosts.given(), "the 'dirichlet' boundary needs ghost values");
    const auto cells = static_cast<size_t>(grid.size());
    require_size(m_prev, cells, "m_prev", "(H, W)");
    require_size(m_lag, cells, "m_lag", "(H, W)");
    if (drift.given()) {
        require_size(drift, 2 * cells, "drift", "(2, H, W)");
        require_size(drift_div, cells, "drift divergence", "(H, W)");
    }
    if (ghosts.given()) require_size(ghosts, static_cast<size_t>(grid.padded_size()), "ghosts", "(H+2, W+2)");
    const Stencil stencil(grid, boundary);
    FPSystem sys;
    sys.indptr = stencil.indptr();
    sys.indices = stencil.indices();
    sys.data.assign(sys.indices.size(), 0.0);
    sys.rhs.assign(static_cast<size_t>(grid.size()), 0.0);
    // The lane kernels on one field: lane 0 carries it, the others are copies.
    constexpr index_t kLanes = PackedLU::kNarrowLanes;
    aligned_vector<double> lag(cells * kLanes), prev(cells * kLanes), rhs(cells * kLanes);
    aligned_vector<double> values(sys.data.size() * kLanes, 0.0), padded(static_cast<size_t>(grid.padded_size()) * kLanes);
    for (size_t p = 0; p < cells; ++p)
        for (index_t l = 0; l < kLanes; ++l) {
            lag[p * kLanes + l] = m_lag[p];
            prev[p * kLanes + l] = m_prev[p];
        }
    const double* lane_ghosts[kLanes];
    std::fill_n(lane_ghosts, kLanes, ghosts.data);
    stencil.pad_lanes(lag.data(), ghosts.given() ? lane_ghosts : nullptr, kLanes, padded.data());
    double speed[kLanes];
    detail::StepInputs in;
    in.padded_lag = padded.data();
    in.m_prev = prev.data();
    in.g = g;
    in.dt = dt;
    in.drift = drift.data;
    in.drift_div = drift_div.data;
    detail::StepOutputs out;
    out.positions = stencil.slots().data();
    out.values = values.data();
    out.rhs = rhs.data();
    out.speed = speed;
    detail::assemble_lanes(grid, scheme, kLanes, in, out);
    for (size_t p = 0; p < sys.data.size(); ++p) sys.data[p] = values[p * kLanes];
    for (size_t p = 0; p < cells; ++p) sys.rhs[p] = rhs[p * kLanes];
    return sys;
}

std::vector<double> central_gradient(const Grid& grid, Boundary boundary, ArrayView m, ArrayView ghosts) {
    validate_grid(grid);
    require(boundary != Boundary::Dirichlet || ghosts.given(), "the 'dirichlet' boundary needs ghost values");
    require_size(m, static_cast<size_t>(grid.size()), "m", "(H, W)");
    if (ghosts.given()) require_size(ghosts, static_cast<size_t>(grid.padded_size()), "ghosts", "(H+2, W+2)");
    const Stencil stencil(grid, boundary);
    std::vector<double> padded(static_cast<size_t>(grid.padded_size()));
    std::vector<double> grad(2 * static_cast<size_t>(grid.size()));
    stencil.pad(m.data, ghosts.data, padded.data());
    detail::central_gradient_padded(grid, padded.data(), grad.data());
    return grad;
}

}  // namespace fpscore
