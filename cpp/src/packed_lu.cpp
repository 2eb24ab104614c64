// Interleaved numeric LU: the same multifrontal elimination as SparseLU, with every
// scalar operation widened to kLanes matrices.
#include "fpscore/packed_lu.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "format.hpp"
#include "multifrontal.hpp"
#include "rowwise_factor.hpp"
#include "triangular_solve.hpp"
#include "fpscore/errors.hpp"
#include "simd_dispatch.hpp"

namespace fpscore {
namespace {

constexpr index_t L = PackedLU::kLanes;

FPSCORE_SIMD_CLONES
detail::PivotFailure factor_kernel(const SymbolicLU& sym, double* lu, double* inv_piv, detail::FrontWorkspace ws,
                                   double tolerance, index_t active) {
    if (sym.multifrontal()) return detail::multifrontal_factor<L>(sym, lu, inv_piv, ws, tolerance, active);
    return detail::rowwise_factor<L>(sym, lu, inv_piv, ws.norms, tolerance, active);
}

FPSCORE_SIMD_CLONES
void solve_kernel(const SymbolicLU& sym, const double* lu, const double* inv_piv, double* x) {
    detail::substitute<L>(sym, lu, inv_piv, x);
}

}  // namespace

PackedLU::PackedLU(std::shared_ptr<const SymbolicLU> symbolic, double pivot_tolerance)
    : symbolic_(std::move(symbolic)), pivot_tolerance_(pivot_tolerance) {
    if (!symbolic_) throw std::invalid_argument("PackedLU needs a symbolic analysis, got null");
    if (!(pivot_tolerance >= 0.0 && pivot_tolerance < 1.0))
        throw std::invalid_argument("pivot tolerance must lie in [0, 1), got " + detail::str(pivot_tolerance));
    const auto n = static_cast<size_t>(symbolic_->n());
    values_.assign(static_cast<size_t>(symbolic_->nnz_factors()) * L, 0.0);
    inv_pivots_.assign(n * L, 0.0);
    row_norms_.assign(n * L, 0.0);
    const FrontalPlan& plan = symbolic_->frontal();
    front_.assign(static_cast<size_t>(plan.max_front) * plan.max_front * L, 0.0);
    arena_.assign(static_cast<size_t>(plan.arena) * L, 0.0);
}

void PackedLU::factor(const double* const* a_values, index_t active) {
    if (active < 1 || active > L)
        throw std::invalid_argument("active lanes must lie in [1, " + std::to_string(L) + "]");
    std::fill(values_.begin(), values_.end(), 0.0);
    const auto& map = symbolic_->matrix_to_factor();
    for (index_t l = 0; l < active; ++l)
        for (size_t p = 0; p < map.size(); ++p) values_[map[p] * L + l] += a_values[l][p];
    factor_assembled(active);
}

void PackedLU::factor_assembled(index_t active) {
    if (active < 1 || active > L)
        throw std::invalid_argument("active lanes must lie in [1, " + std::to_string(L) + "]");
    factored_ = false;
    const size_t count = values_.size() / L;
    for (size_t p = 0; p < count; ++p)
        for (index_t l = active; l < L; ++l) values_[p * L + l] = values_[p * L];
    const detail::FrontWorkspace ws{front_.data(), arena_.data(), row_norms_.data()};
    const detail::PivotFailure bad = factor_kernel(*symbolic_, values_.data(), inv_pivots_.data(), ws,
                                                   pivot_tolerance_, active);
    if (bad.row < 0) {
        factored_ = true;
        return;
    }
    failed_lane_ = bad.lane;
    std::ostringstream msg;
    msg << "zero, tiny or non-finite pivot in row " << symbolic_->permutation()[bad.row] << " (elimination step "
        << bad.row << " of " << symbolic_->n() << ") of lane " << bad.lane << ": |u_ii| = " << std::abs(bad.pivot)
        << " against " << pivot_tolerance_ << " * max_j |a_ij| = " << pivot_tolerance_ * bad.norm
        << "; the matrix is singular, not finite, or too ill-conditioned for static (diagonal) pivoting";
    throw SingularMatrixError(msg.str());
}

void PackedLU::solve(double* x, double* work) const {
    if (!factored_) throw std::invalid_argument("PackedLU::solve called before a successful factor");
    const index_t n = symbolic_->n();
    const index_t* perm = symbolic_->permutation().data();
    for (index_t i = 0; i < n; ++i)
        std::copy_n(x + static_cast<offset_t>(perm[i]) * L, L, work + static_cast<offset_t>(i) * L);
    solve_kernel(*symbolic_, values_.data(), inv_pivots_.data(), work);
    for (index_t i = 0; i < n; ++i)
        std::copy_n(work + static_cast<offset_t>(i) * L, L, x + static_cast<offset_t>(perm[i]) * L);
}

}  // namespace fpscore
