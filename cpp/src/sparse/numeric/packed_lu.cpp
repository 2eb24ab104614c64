// Interleaved numeric LU of a pack of matrices: row by row or by dense fronts, every
// operation on the lanes of a vector, one matrix per lane.
#include "sparse/numeric/packed_lu.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "common/format.hpp"
#include "sparse/numeric/multifrontal.hpp"
#include "sparse/numeric/pivot_failure.hpp"
#include "sparse/numeric/rowwise_factor.hpp"
#include "sparse/numeric/transpose.hpp"
#include "sparse/numeric/triangular_solve.hpp"
#include "fpscore/errors.hpp"
#include "common/simd_dispatch.hpp"

namespace fpscore {

using detail::SymbolicPlan;

namespace {

// Both kernels start from A's values: each row (row by row) or each front (multifrontal).
// With y (row by row only) the forward substitution L y = y runs along.
template <int L>
FPSCORE_INLINE detail::PivotFailure factor_lanes(const SymbolicPlan& sym, const double* a,
                                                 const detail::FrontAssembly* assembly, double* lu, double* inv_piv,
                                                 detail::FrontWorkspace ws, double tolerance, index_t active,
                                                 double* y, detail::BlockSchedule* schedule) {
    if (sym.multifrontal())
        return detail::multifrontal_factor<L>(sym, lu, inv_piv, ws, tolerance, active, a, *assembly);
    // Stream the L parts past the caches once the factor is well beyond a core's L2.
    constexpr double kStreamFromBytes = 8 << 20;
    const bool stream = static_cast<double>(sym.nnz_factors()) * L * sizeof(double) >= kStreamFromBytes;
    return detail::rowwise_factor<L>(sym, lu, inv_piv, ws.norms, tolerance, active, a, y, stream, schedule);
}

// The kernels for a pack of `lanes` (FPSCORE_SIMD_KERNEL applies to functions, not
// templates: one dispatched kernel branching on the lane count).
FPSCORE_INLINE detail::PivotFailure factor_kernel_body(index_t lanes, const SymbolicPlan& sym, const double* a,
                                   const detail::FrontAssembly* assembly, double* lu, double* inv_piv,
                                   detail::FrontWorkspace ws, double tolerance, index_t active, double* y,
                                   detail::BlockSchedule* schedule) {
    const detail::FlushSubnormals flush;
    if (lanes == PackedLU::kMaxLanes)
        return factor_lanes<PackedLU::kMaxLanes>(sym, a, assembly, lu, inv_piv, ws, tolerance, active, y, schedule);
    return factor_lanes<PackedLU::kNarrowLanes>(sym, a, assembly, lu, inv_piv, ws, tolerance, active, y, schedule);
}
FPSCORE_SIMD_KERNEL(detail::PivotFailure, factor_kernel,
                    (index_t lanes, const SymbolicPlan& sym, const double* a, const detail::FrontAssembly* assembly,
                     double* lu, double* inv_piv, detail::FrontWorkspace ws, double tolerance, index_t active,
                     double* y, detail::BlockSchedule* schedule),
                    (lanes, sym, a, assembly, lu, inv_piv, ws, tolerance, active, y, schedule))

// The substitutions; forward = false: only U z = y (L y = b was done while factorising).
template <int L>
FPSCORE_INLINE void solve_lanes(const SymbolicPlan& sym, const double* lu, const double* inv_piv, double* x,
                                bool forward) {
    if (forward) detail::substitute_forward<L>(sym, lu, x);
    detail::substitute_backward<L>(sym, lu, inv_piv, x);
}

FPSCORE_INLINE void solve_kernel_body(index_t lanes, const SymbolicPlan& sym, const double* lu, const double* inv_piv,
                                      double* x, bool forward) {
    const detail::FlushSubnormals flush;
    if (lanes == PackedLU::kMaxLanes)
        solve_lanes<PackedLU::kMaxLanes>(sym, lu, inv_piv, x, forward);
    else
        solve_lanes<PackedLU::kNarrowLanes>(sym, lu, inv_piv, x, forward);
}
FPSCORE_SIMD_KERNEL(void, solve_kernel,
                    (index_t lanes, const SymbolicPlan& sym, const double* lu, const double* inv_piv, double* x,
                     bool forward),
                    (lanes, sym, lu, inv_piv, x, forward))

// out[p * L + l] = lane[l][p]: one full element (a cache line for eight lanes) per store.
// Returns whether every value was finite (x − x is 0 for finite x, NaN otherwise: no
// branches and no second pass).
template <int L>
FPSCORE_INLINE bool interleave(const double* const* lane, offset_t count, double* FPSCORE_RESTRICT out) {
    using Ops = detail::VectorOps<L>;
    typename Ops::V probe{};
    if constexpr (L == 8) {
        detail::interleave8(lane, count, out, [&probe](detail::Vector8 v) FPSCORE_INLINE_LAMBDA { probe += v - v; });
    } else {
        for (offset_t p = 0; p < count; ++p) {
            for (int l = 0; l < L; ++l) out[p * L + l] = lane[l][p];
            const auto v = Ops::load(out + p * L);
            probe += v - v;
        }
    }
    double sum[L];
    Ops::store(sum, probe);
    double total = 0.0;
    for (int l = 0; l < L; ++l) total += sum[l];
    return total == 0.0;
}

FPSCORE_INLINE bool interleave_lanes_body(const double* const* lane, index_t lanes, offset_t count, double* out) {
    if (lanes == PackedLU::kMaxLanes) return interleave<PackedLU::kMaxLanes>(lane, count, out);
    return interleave<PackedLU::kNarrowLanes>(lane, count, out);
}
FPSCORE_SIMD_KERNEL(bool, interleave_lanes,
                    (const double* const* lane, index_t lanes, offset_t count, double* out),
                    (lane, lanes, count, out))

}  // namespace

std::vector<Pack> plan_packs(index_t members) {
    if (members < 0) throw std::invalid_argument("plan_packs needs members >= 0, got " + std::to_string(members));
    // Eight lanes pay off with 512-bit registers; with AVX2 a lane vector would take two
    // registers and the kernels would spill (measured: slower than four lanes). The level
    // is the kernels' (FPSCORE_SIMD may lower it); an invalid FPSCORE_SIMD throws here.
    const bool wide = detail::simd_level() == detail::SimdLevel::Avx512;
    const index_t widest = wide ? PackedLU::kMaxLanes : PackedLU::kNarrowLanes;
    std::vector<Pack> packs;
    for (index_t first = 0; first < members; first += widest) {
        const index_t count = std::min(widest, members - first);
        packs.push_back({first, count, count <= PackedLU::kNarrowLanes ? PackedLU::kNarrowLanes : widest});
    }
    return packs;
}

PackedLU::PackedLU(std::shared_ptr<const SymbolicLU> symbolic, index_t lanes, double pivot_tolerance)
    : symbolic_(std::move(symbolic)), lanes_(lanes), pivot_tolerance_(pivot_tolerance) {
    if (!symbolic_) throw std::invalid_argument("PackedLU needs a symbolic analysis, got null");
    detail::simd_level();  // an invalid FPSCORE_SIMD throws here, before any kernel runs
    if (lanes != kMaxLanes && lanes != kNarrowLanes)
        throw std::invalid_argument("PackedLU lanes must be " + std::to_string(kNarrowLanes) + " or " +
                                    std::to_string(kMaxLanes) + ", got " + std::to_string(lanes));
    if (!(pivot_tolerance >= 0.0 && pivot_tolerance < 1.0))
        throw std::invalid_argument("pivot tolerance must lie in [0, 1), got " + detail::str(pivot_tolerance));
    if (symbolic_->plan().multifrontal())
        assembly_ = std::make_shared<const detail::FrontAssembly>(detail::plan_front_assembly(symbolic_->plan()));
    const auto n = static_cast<size_t>(symbolic_->plan().n);
    const auto L = static_cast<size_t>(lanes_);
    matrix_.assign(static_cast<size_t>(symbolic_->plan().nnz_matrix()) * L, 0.0);
    values_.resize(static_cast<size_t>(symbolic_->plan().nnz_factors()) * L);  // every factorisation writes all of it
    inv_pivots_.assign(n * L, 0.0);
    row_norms_.assign(detail::kRowGroup * n * L, 0.0);  // the row-by-row kernel's work rows
    const detail::FrontalPlan& plan = symbolic_->plan().frontal;
    front_.assign(static_cast<size_t>(plan.max_front) * plan.max_front * L, 0.0);
    front_rows_.assign(2 * static_cast<size_t>(plan.max_front), nullptr);
    arena_.assign(static_cast<size_t>(plan.arena) * L, 0.0);
}

void PackedLU::factor(const double* const* a_values, index_t active) {
    interleave_matrix(a_values, active);
    factor_matrix(active);
}

void PackedLU::factor_solve(const double* const* a_values, index_t active, double* x, double* work) {
    interleave_matrix(a_values, active);
    if (symbolic_->plan().multifrontal()) {
        factor_matrix(active);
        solve(x, work);
        return;
    }
    permute_in(x, work);
    factor_matrix(active, work);
    substitute(work, false);
    permute_out(work, x);
}

void PackedLU::interleave_matrix(const double* const* a_values, index_t active) {
    if (active < 1 || active > lanes_)
        throw std::invalid_argument("active lanes must lie in [1, " + std::to_string(lanes_) + "]");
    const double* lane[kMaxLanes];
    for (index_t l = 0; l < lanes_; ++l) lane[l] = a_values[l < active ? l : 0];
    const offset_t nnz = symbolic_->plan().nnz_matrix();
    if (!interleave_lanes(lane, lanes_, nnz, matrix_.data())) {
        for (index_t l = 0; l < active; ++l) {
            const auto bad = std::count_if(a_values[l], a_values[l] + nnz, [](double v) { return !std::isfinite(v); });
            if (bad > 0) {
                failed_lane_ = l;
                throw std::invalid_argument("the matrix values contain " + std::to_string(bad) +
                                            " NaN or inf value(s)");
            }
        }
    }
}

void PackedLU::factor_matrix(index_t active, double* y) {
    if (active < 1 || active > lanes_)
        throw std::invalid_argument("active lanes must lie in [1, " + std::to_string(lanes_) + "]");
    factored_ = false;
    const offset_t L = lanes_, nnz = symbolic_->plan().nnz_matrix();
    for (offset_t p = 0; p < nnz; ++p)
        for (offset_t l = active; l < L; ++l) matrix_[p * L + l] = matrix_[p * L];
    const detail::FrontWorkspace ws{front_.data(), arena_.data(), row_norms_.data(), front_rows_.data()};
    const detail::PivotFailure bad = factor_kernel(lanes_, symbolic_->plan(), matrix_.data(), assembly_.get(), values_.data(),
                                                   inv_pivots_.data(), ws, pivot_tolerance_, active, y, &schedule_);
    if (bad.row < 0) {
        factored_ = true;
        return;
    }
    failed_lane_ = bad.lane;
    throw SingularMatrixError(
        detail::pivot_failure_message(symbolic_->plan(), bad.row, bad.pivot, bad.norm, pivot_tolerance_));
}

void PackedLU::solve(double* x, double* work) const {
    if (!factored_) throw std::invalid_argument("PackedLU::solve called before a successful factor");
    permute_in(x, work);
    substitute(work, true);
    permute_out(work, x);
}

void PackedLU::permute_in(const double* x, double* work) const {
    const offset_t L = lanes_;
    const index_t* perm = symbolic_->plan().perm.data();
    for (index_t i = 0; i < symbolic_->plan().n; ++i) std::copy_n(x + perm[i] * L, L, work + i * L);
}

void PackedLU::permute_out(const double* work, double* x) const {
    const offset_t L = lanes_;
    const index_t* perm = symbolic_->plan().perm.data();
    for (index_t i = 0; i < symbolic_->plan().n; ++i) std::copy_n(work + i * L, L, x + perm[i] * L);
}

void PackedLU::substitute(double* work, bool forward) const {
    solve_kernel(lanes_, symbolic_->plan(), values_.data(), inv_pivots_.data(), work, forward);
}

std::shared_ptr<const SymbolicLU> analyse_for_packs(const CsrView& pattern, Ordering requested,
                                                    const std::optional<GridShape>& grid) {
    return std::make_shared<const SymbolicLU>(detail::analyse_pattern(
        pattern, pack_ordering(requested, pattern.n), grid, detail::Elimination::Automatic));
}

}  // namespace fpscore
