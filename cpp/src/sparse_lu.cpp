// Numeric LU (multifrontal, dense fronts per supernode) on the symbolic pattern, and the
// triangular solves. Static pivoting: the FP matrices are diagonally dominant.
#include "fpscore/sparse_lu.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "format.hpp"
#include "multifrontal.hpp"
#include "rowwise_factor.hpp"
#include "triangular_solve.hpp"
#include "simd_dispatch.hpp"
#include "fpscore/errors.hpp"

namespace fpscore {

SparseLU::SparseLU(std::shared_ptr<const SymbolicLU> symbolic, double pivot_tolerance)
    : symbolic_(std::move(symbolic)), pivot_tolerance_(pivot_tolerance) {
    if (!symbolic_) throw std::invalid_argument("SparseLU needs a symbolic analysis, got null");
    if (!(pivot_tolerance >= 0.0 && pivot_tolerance < 1.0))
        throw std::invalid_argument("pivot tolerance must lie in [0, 1), got " + detail::str(pivot_tolerance));
    if (symbolic_->multifrontal())
        assembly_ = std::make_shared<const detail::FrontAssembly>(detail::plan_front_assembly(*symbolic_));
    values_.resize(static_cast<size_t>(symbolic_->nnz_factors()));  // factor() writes all of it
    row_norms_.assign(detail::kRowGroup * static_cast<size_t>(symbolic_->n()), 0.0);  // work rows (row by row)
    inv_pivots_.assign(static_cast<size_t>(symbolic_->n()), 0.0);
    const FrontalPlan& plan = symbolic_->frontal();
    front_.assign(static_cast<size_t>(plan.max_front) * plan.max_front, 0.0);
    front_rows_.assign(2 * static_cast<size_t>(plan.max_front), nullptr);
    arena_.assign(static_cast<size_t>(plan.arena), 0.0);
}

namespace {

// With a_values both kernels start from A directly; without, from values().
FPSCORE_SIMD_CLONES
detail::PivotFailure factor_kernel(const SymbolicLU& sym, const double* a_values, const detail::FrontAssembly* assembly,
                                   double* lu, double* inv_piv, detail::FrontWorkspace ws, double tolerance) {
    if (sym.multifrontal())
        return detail::multifrontal_factor<1>(sym, lu, inv_piv, ws, tolerance, 1, a_values, assembly);
    return detail::rowwise_factor<1>(sym, lu, inv_piv, ws.norms, tolerance, 1, a_values);
}

}  // namespace

void SparseLU::factor(const double* a_values) { factor_from(a_values); }

void SparseLU::factor_assembled() { factor_from(nullptr); }

void SparseLU::factor_from(const double* a_values) {
    factored_ = false;
    const SymbolicLU& s = *symbolic_;
    const detail::FrontWorkspace ws{front_.data(), arena_.data(), row_norms_.data(), front_rows_.data()};
    const detail::PivotFailure bad =
        factor_kernel(s, a_values, assembly_.get(), values_.data(), inv_pivots_.data(), ws, pivot_tolerance_);
    if (bad.row < 0) {
        factored_ = true;
        return;
    }
    std::ostringstream msg;
    msg << (std::isfinite(bad.pivot) && std::isfinite(bad.norm) ? "zero or tiny" : "non-finite") << " pivot in row "
        << s.permutation()[bad.row] << " (elimination step " << bad.row << " of " << s.n()
        << "): |u_ii| = " << std::abs(bad.pivot) << " against " << pivot_tolerance_
        << " * max_j |a_ij| = " << pivot_tolerance_ * bad.norm
        << "; the matrix is singular, not finite, or too ill-conditioned for static (diagonal) pivoting";
    throw SingularMatrixError(msg.str());
}

namespace {

FPSCORE_SIMD_CLONES
void solve_one(const SymbolicLU& sym, const double* lu, double* x) { detail::substitute<1>(sym, lu, nullptr, x); }

FPSCORE_SIMD_CLONES
void solve_many(const SymbolicLU& sym, const double* FPSCORE_RESTRICT lu, double* FPSCORE_RESTRICT x, offset_t r) {
    const index_t n = sym.n();
    const offset_t* row_ptr = sym.row_ptr().data();
    const offset_t* diag = sym.diag().data();
    const index_t* cols = sym.cols().data();
    for (index_t i = 0; i < n; ++i) {  // L y = P b, L unit lower
        double* xi = x + i * r;
        for (offset_t p = row_ptr[i]; p < diag[i]; ++p) {
            const double l = lu[p];
            const double* xk = x + cols[p] * r;
            for (offset_t c = 0; c < r; ++c) xi[c] -= l * xk[c];
        }
    }
    for (index_t i = n - 1; i >= 0; --i) {  // U z = y
        double* xi = x + i * r;
        for (offset_t p = diag[i] + 1; p < row_ptr[i + 1]; ++p) {
            const double u = lu[p];
            const double* xj = x + cols[p] * r;
            for (offset_t c = 0; c < r; ++c) xi[c] -= u * xj[c];
        }
        const double pivot = lu[diag[i]];
        for (offset_t c = 0; c < r; ++c) xi[c] /= pivot;
    }
}

}  // namespace

void SparseLU::solve(double* b, index_t nrhs, double* work) const {
    if (!factored_) throw std::invalid_argument("SparseLU::solve called before a successful factor");
    if (nrhs < 1) throw std::invalid_argument("nrhs must be >= 1, got " + std::to_string(nrhs));
    const SymbolicLU& s = *symbolic_;
    const index_t n = s.n();
    const index_t* perm = s.permutation().data();
    const auto r = static_cast<offset_t>(nrhs);
    for (index_t i = 0; i < n; ++i) std::copy_n(b + perm[i] * r, r, work + i * r);
    if (nrhs == 1)
        solve_one(s, values_.data(), work);
    else
        solve_many(s, values_.data(), work, r);
    for (index_t i = 0; i < n; ++i) std::copy_n(work + i * r, r, b + perm[i] * r);
}

void SparseLU::solve(double* b, index_t nrhs) const {
    std::vector<double> work(static_cast<size_t>(symbolic_->n()) * static_cast<size_t>(std::max<index_t>(nrhs, 1)));
    solve(b, nrhs, work.data());
}

}  // namespace fpscore
