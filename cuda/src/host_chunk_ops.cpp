#include "host_chunk_ops.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "chunk_driver.hpp"
#include "fp/problem_checks.hpp"
#include "fpscore/sparse/sparse_lu.hpp"

namespace fpscore::cuda_detail {
namespace {

double max_abs(double largest, double x) {
    const double m = std::abs(x);
    return m > largest || std::isnan(m) ? m : largest;  // NaN wins, as in the device's maxima
}

}  // namespace

HostChunkOps::HostChunkOps(std::shared_ptr<const ChunkPlan> plan, const FPProblem& pb, ArrayView m0, Scheme scheme,
                           std::int32_t capacity, double pivot_tolerance)
    : plan_(std::move(plan)),
      pb_(pb),
      m0_(m0),
      upwind_(scheme == Scheme::Upwind),
      capacity_(capacity),
      pivot_tolerance_(pivot_tolerance) {
    geometry_ = {plan_->rows, plan_->cols, pb.grid.h};
    const auto& sym = *plan_->symbolic;
    pattern_ = {sym.row_ptr.data(), sym.cols.data(), sym.diag.data()};
}

void HostChunkOps::begin(std::int32_t first, std::int32_t count) {
    first_ = first;
    count_ = count;
    const std::int64_t cells = plan_->cells(), S = count, levels = pb_.n_steps + 1;
    levels_.assign(static_cast<size_t>(levels * cells * S), 0.0);
    for (std::int64_t l = 0; l < S; ++l)
        for (std::int64_t p = 0; p < cells; ++p) levels_[p * S + l] = m0_[(first + l) * cells + p];
    for (auto* v : {&iterate_, &correction_, &work_}) v->assign(static_cast<size_t>(cells * S), 0.0);
    padded_.assign(static_cast<size_t>(plan_->padded_cells() * S), 0.0);
    factors_.assign(static_cast<size_t>(plan_->nnz_factors() * S), 0.0);
    inv_pivots_.assign(static_cast<size_t>(cells * S), 0.0);
    norms_.assign(static_cast<size_t>(cells * S), 0.0);
    sweep_.clear();
}

const double* HostChunkOps::drift(std::int32_t n) const {
    return pb_.drift.given() ? pb_.drift.data + static_cast<std::int64_t>(n) * 2 * plan_->cells() : nullptr;
}
const double* HostChunkOps::drift_div(std::int32_t n) const {
    return pb_.drift_div.given() ? pb_.drift_div.data + static_cast<std::int64_t>(n) * plan_->cells() : nullptr;
}

void HostChunkOps::pad(const double* field, std::int32_t n) {
    const std::int64_t S = count_, PN = plan_->padded_cells();
    // The chunk's rings at level n: ghosts (N+1, B, H+2, W+2) from member first_.
    const double* ghosts = pb_.ghosts.given() ? pb_.ghosts.data + (static_cast<std::int64_t>(n) * pb_.batch + first_) * PN
                                              : nullptr;
    for (std::int64_t l = 0; l < S; ++l) {
        for (std::int64_t p = 0; p < plan_->cells(); ++p) pad_interior(geometry_, p, field, padded_.data(), S, l);
        for (std::int64_t r = 0; r < static_cast<std::int64_t>(plan_->ring.size()); ++r)
            pad_ring(geometry_, r, plan_->ring.data(), plan_->ring_source.data(), field, ghosts, padded_.data(), S, l);
    }
}

void HostChunkOps::first_guess(std::int32_t n) {
    const std::int64_t size = field_size();
    const double* prev = level(levels_, n - 1);
    const double* older = n >= 2 ? level(levels_, n - 2) : prev;
    const double* oldest = n >= 3 ? level(levels_, n - 3) : prev;
    for (std::int64_t k = 0; k < size; ++k) iterate_[k] = cuda_detail::first_guess(n, prev[k], older[k], oldest[k]);
}

void HostChunkOps::assemble(std::int32_t n, bool policy, bool refactor) {
    const double* lagged = policy ? level(sweep_, n) : iterate_.data();
    const double* prev = policy ? iterate_.data() : level(levels_, n - 1);
    pad(lagged, n);
    if (refactor) std::fill(factors_.begin(), factors_.end(), 0.0);
    const StepCoefficients step{0.5 * pb_.g[n] * pb_.g[n], 1.0 / (pb_.times[n] - pb_.times[n - 1]), upwind_};
    for (std::int64_t l = 0; l < count_; ++l)
        for (std::int64_t p = 0; p < plan_->cells(); ++p)
            assemble_node(geometry_, p, step, padded_.data(), prev, drift(n), drift_div(n), plan_->positions.data(),
                          correction_.data(), refactor ? factors_.data() : nullptr, count_, l);
}

PivotFailure HostChunkOps::factor() {
    PivotFailure first;
    for (std::int64_t l = 0; l < count_; ++l) {
        // Level by level, as the device runs them (rows of a level in any order).
        for (std::int64_t k = 0; k < static_cast<std::int64_t>(plan_->level_rows.size()); ++k) {
            const std::int32_t i = plan_->level_rows[k];
            double pivot = 0.0, norm = 0.0;
            const bool ok = factor_row(pattern_, i, factors_.data(), inv_pivots_.data(), count_, l, pivot_tolerance_,
                                       &pivot, &norm);
            norms_[i * count_ + l] = norm;
            if (!ok && first.member < 0) first = {static_cast<std::int32_t>(l), i, pivot, norm};
            if (!ok && first.member == l && i < first.row) first = {static_cast<std::int32_t>(l), i, pivot, norm};
        }
        if (first.member >= 0) break;
    }
    return first;
}

void HostChunkOps::solve() {
    const auto& perm = plan_->symbolic->perm;
    const std::int64_t S = count_, n = plan_->cells();
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t l = 0; l < S; ++l) work_[i * S + l] = correction_[perm[i] * S + l];
    for (std::int64_t l = 0; l < S; ++l) {
        for (const std::int32_t i : plan_->level_rows) forward_row(pattern_, i, factors_.data(), work_.data(), S, l);
        for (auto it = plan_->level_rows.rbegin(); it != plan_->level_rows.rend(); ++it)
            backward_row(pattern_, *it, factors_.data(), inv_pivots_.data(), work_.data(), S, l);
    }
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t l = 0; l < S; ++l) correction_[perm[i] * S + l] = work_[i * S + l];
}

Changes HostChunkOps::correct(const std::vector<std::uint8_t>& live) {
    Changes c{std::vector<double>(count_, 0.0), std::vector<double>(count_, 0.0)};
    const std::int64_t S = count_;
    for (std::int64_t p = 0; p < plan_->cells(); ++p)
        for (std::int64_t l = 0; l < S; ++l) {
            const double d = live[l] ? correction_[p * S + l] : 0.0;
            const double x = iterate_[p * S + l] + d;
            iterate_[p * S + l] = x;
            c.change[l] = max_abs(c.change[l], d);
            c.scale[l] = max_abs(c.scale[l], x);
        }
    return c;
}

void HostChunkOps::store_level(std::int32_t n) { std::copy(iterate_.begin(), iterate_.end(), level(levels_, n)); }

void HostChunkOps::sweep_init() {
    const std::int64_t size = field_size();
    sweep_.resize(levels_.size());
    for (std::int32_t n = 0; n <= pb_.n_steps; ++n) std::copy_n(level(levels_, 0), size, level(sweep_, n));
}

void HostChunkOps::sweep_begin() { std::copy_n(level(sweep_, 0), field_size(), iterate_.data()); }

Changes HostChunkOps::sweep_update(std::int32_t n) {
    Changes c{std::vector<double>(count_, 0.0), std::vector<double>(count_, 0.0)};
    const std::int64_t S = count_;
    double* lagged = level(sweep_, n);
    for (std::int64_t p = 0; p < plan_->cells(); ++p)
        for (std::int64_t l = 0; l < S; ++l) {
            const std::int64_t k = p * S + l;
            const double x = lagged[k] + correction_[k];
            c.change[l] = max_abs(c.change[l], x - lagged[k]);
            c.scale[l] = max_abs(c.scale[l], x);
            iterate_[k] = x;
            lagged[k] = x;
        }
    return c;
}

void HostChunkOps::commit(const std::vector<std::uint8_t>& done) {
    const std::int64_t S = count_;
    for (std::int32_t n = 1; n <= pb_.n_steps; ++n) {
        const double* src = level(sweep_, n);
        double* dst = level(levels_, n);
        for (std::int64_t p = 0; p < plan_->cells(); ++p)
            for (std::int64_t l = 0; l < S; ++l)
                if (done[l]) dst[p * S + l] = src[p * S + l];
    }
}

std::vector<double> HostChunkOps::speeds(std::int32_t n, bool policy) {
    pad(policy ? level(sweep_, n) : iterate_.data(), n);
    std::vector<double> speed(count_, 0.0);
    const double half_g2 = 0.5 * pb_.g[n] * pb_.g[n];
    for (std::int64_t l = 0; l < count_; ++l) {
        double largest = 0.0;
        for (std::int64_t p = 0; p < plan_->cells(); ++p)
            largest = std::max(largest, squared_speed(geometry_, p, half_g2, padded_.data(), drift(n), count_, l));
        speed[l] = std::sqrt(largest);
    }
    return speed;
}

void HostChunkOps::finish(double* m, double* score) {
    const std::int64_t S = count_, cells = plan_->cells(), B = pb_.batch;
    std::vector<double> grad(static_cast<size_t>(2 * cells * S));
    for (std::int32_t n = 0; n <= pb_.n_steps; ++n) {
        const double* field = level(levels_, n);
        pad(field, n);
        for (std::int64_t l = 0; l < S; ++l)
            for (std::int64_t p = 0; p < cells; ++p) gradient_node(geometry_, p, padded_.data(), grad.data(), S, l);
        for (std::int64_t l = 0; l < S; ++l) {
            const std::int64_t member = (static_cast<std::int64_t>(n) * B + first_ + l);
            for (std::int64_t p = 0; p < cells; ++p) {
                m[member * cells + p] = field[p * S + l];
                score[member * 2 * cells + p] = grad[p * S + l];
                score[member * 2 * cells + cells + p] = grad[(cells + p) * S + l];
            }
        }
    }
}

FPSolution solve_on_host(const FPProblem& pb, ArrayView m0, const FPOptions& opt, std::int32_t capacity) {
    detail::validate_problem(pb, m0, opt);
    const auto plan = make_chunk_plan(pb.grid.rows, pb.grid.cols, pb.boundary);
    const double tolerance = SparseLU::kDefaultPivotTolerance;
    HostChunkOps ops(plan, pb, m0, opt.scheme, capacity, tolerance);
    return solve_in_chunks(pb, opt, ops, *plan->symbolic, tolerance);
}

}  // namespace fpscore::cuda_detail
