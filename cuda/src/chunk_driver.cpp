#include "chunk_driver.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fp/refresh_rule.hpp"
#include "fp/step_failure.hpp"
#include "sparse/numeric/pivot_failure.hpp"

namespace fpscore::cuda_detail {
namespace {

class ChunkSolve {
public:
    ChunkSolve(const FPProblem& pb, const FPOptions& opt, ChunkOps& ops, const detail::SymbolicPlan& plan,
               double pivot_tolerance, std::vector<int>& iterations)
        : pb_(pb), opt_(opt), ops_(ops), plan_(plan), pivot_tolerance_(pivot_tolerance), iterations_(iterations) {}

    void run(std::int32_t first, std::int32_t count) {
        first_ = first;
        count_ = count;
        stale_ = true;
        fresh_ratio_ = 0.0;
        ops_.begin(first, count);
        if (opt_.iteration == Iteration::Picard)
            picard();
        else
            policy();
    }

private:
    void record(std::int32_t l, std::int32_t n, int k) {
        iterations_[static_cast<size_t>(first_ + l) * pb_.n_steps + (n - 1)] = k;
    }

    // Factorises after an assembly; a bad pivot is the step's error (as on the CPU).
    void factor(std::int32_t n, bool policy) {
        const PivotFailure bad = ops_.factor();
        if (bad.member < 0) return;
        const double speed = ops_.speeds(n, policy)[static_cast<size_t>(bad.member)];
        const bool finite = std::isfinite(bad.pivot) && std::isfinite(bad.norm);
        detail::fail_factor(pb_, opt_, first_ + bad.member, n, speed, finite,
                            detail::pivot_failure_message(plan_, bad.row, bad.pivot, bad.norm, pivot_tolerance_));
    }

    [[noreturn]] void fail(std::int32_t l, std::int32_t n, double change, bool finite, bool policy) {
        const double speed = ops_.speeds(n, policy)[static_cast<size_t>(l)];
        detail::fail(pb_, opt_, first_ + l, n, change, speed, finite);
    }

    void picard() {
        const std::int32_t N = pb_.n_steps;
        for (std::int32_t n = 1; n <= N; ++n) {
            ops_.first_guess(n);
            std::vector<std::uint8_t> live(static_cast<size_t>(count_), 1);
            std::vector<double> last_change(static_cast<size_t>(count_), 0.0);
            std::int32_t remaining = count_;
            for (int k = 1; remaining > 0; ++k) {
                if (k > opt_.max_iter)
                    for (std::int32_t l = 0; l < count_; ++l)
                        if (live[l]) fail(l, n, last_change[l], true, false);
                const bool fresh = stale_;
                ops_.assemble(n, false, fresh);
                if (fresh) {
                    factor(n, false);
                    stale_ = false;
                }
                ops_.solve();
                const Changes c = ops_.correct(live);
                double worst_ratio = 0.0;
                for (std::int32_t l = 0; l < count_; ++l) {
                    if (!live[l]) continue;
                    const double change = c.change[l], scale = c.scale[l];
                    if (!std::isfinite(change) || !std::isfinite(scale)) fail(l, n, change, false, false);
                    if (k > 1 && last_change[l] > 0.0) worst_ratio = std::max(worst_ratio, change / last_change[l]);
                    last_change[l] = change;
                    if (change <= opt_.tol * std::max(1.0, scale)) {
                        live[l] = 0;
                        --remaining;
                        record(l, n, k);
                    }
                }
                if (fresh && k > 1)
                    fresh_ratio_ = worst_ratio;
                else if (!fresh && worst_ratio > detail::stale_threshold(fresh_ratio_))
                    stale_ = true;
            }
            ops_.store_level(n);
        }
    }

    // The paper's Algorithm 1: sweeps over all steps with the last sweep's levels lagged,
    // a fresh factorisation per step (as on the CPU).
    void policy() {
        const std::int32_t N = pb_.n_steps;
        ops_.sweep_init();
        std::vector<std::uint8_t> done(static_cast<size_t>(count_), 0);
        std::vector<double> last_change(static_cast<size_t>(count_), 0.0);
        std::vector<std::int32_t> worst_step(static_cast<size_t>(count_), 1);
        std::int32_t remaining = count_;
        for (int sweep = 1; remaining > 0; ++sweep) {
            if (sweep > opt_.max_iter)
                for (std::int32_t l = 0; l < count_; ++l)
                    if (!done[l]) fail(l, worst_step[l], last_change[l], true, true);
            std::vector<double> change(static_cast<size_t>(count_), 0.0), scale(static_cast<size_t>(count_), 0.0);
            ops_.sweep_begin();
            for (std::int32_t n = 1; n <= N; ++n) {
                ops_.assemble(n, true, true);
                factor(n, true);
                ops_.solve();
                const Changes c = ops_.sweep_update(n);
                for (std::int32_t l = 0; l < count_; ++l) {
                    if (!std::isfinite(c.change[l]) || !std::isfinite(c.scale[l]))
                        fail(l, n, c.change[l], false, true);
                    scale[l] = std::max(scale[l], c.scale[l]);
                    if (c.change[l] >= change[l]) {
                        change[l] = c.change[l];
                        worst_step[l] = n;
                    }
                }
            }
            std::vector<std::uint8_t> newly(static_cast<size_t>(count_), 0);
            for (std::int32_t l = 0; l < count_; ++l) {
                if (done[l]) continue;
                last_change[l] = change[l];
                if (change[l] <= opt_.tol * std::max(1.0, scale[l])) {
                    done[l] = newly[l] = 1;
                    --remaining;
                    for (std::int32_t n = 1; n <= N; ++n) record(l, n, sweep);
                }
            }
            if (std::find(newly.begin(), newly.end(), 1) != newly.end()) ops_.commit(newly);
        }
    }

    const FPProblem& pb_;
    const FPOptions& opt_;
    ChunkOps& ops_;
    const detail::SymbolicPlan& plan_;
    double pivot_tolerance_;
    std::vector<int>& iterations_;  // (B, N)
    std::int32_t first_ = 0, count_ = 0;
    bool stale_ = true;
    double fresh_ratio_ = 0.0;
};

}  // namespace

FPSolution solve_in_chunks(const FPProblem& pb, const FPOptions& opt, ChunkOps& ops, const detail::SymbolicPlan& plan,
                           double pivot_tolerance) {
    const std::int32_t B = pb.batch, N = pb.n_steps;
    const auto cells = static_cast<size_t>(pb.grid.size());
    FPSolution sol;
    sol.m.assign(static_cast<size_t>(N + 1) * B * cells, 0.0);
    sol.score.assign(static_cast<size_t>(N + 1) * B * 2 * cells, 0.0);
    std::vector<int> member_iterations(static_cast<size_t>(B) * N, 0);
    ChunkSolve chunk(pb, opt, ops, plan, pivot_tolerance, member_iterations);
    const std::int32_t capacity = std::max<std::int32_t>(1, ops.capacity());
    for (std::int32_t first = 0; first < B; first += capacity) {
        chunk.run(first, std::min(capacity, B - first));
        ops.finish(sol.m.data(), sol.score.data());
    }
    sol.iterations.assign(static_cast<size_t>(N), 0);
    for (std::int32_t b = 0; b < B; ++b)
        for (std::int32_t n = 0; n < N; ++n)
            sol.iterations[n] = std::max(sol.iterations[n], member_iterations[static_cast<size_t>(b) * N + n]);
    return sol;
}

}  // namespace fpscore::cuda_detail
