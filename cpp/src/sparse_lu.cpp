// Numeric LU (multifrontal, dense fronts per supernode) on the symbolic pattern, and the
// triangular solves. Static pivoting: the FP matrices are diagonally dominant.
#include "fpscore/sparse_lu.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "format.hpp"
#include "multifrontal.hpp"
#include "parallel.hpp"
#include "rowwise_factor.hpp"
#include "helper_thread.hpp"
#include "tree_split.hpp"
#include "triangular_solve.hpp"
#include "simd_dispatch.hpp"
#include "fpscore/errors.hpp"

namespace fpscore {

SparseLU::SparseLU(std::shared_ptr<const SymbolicLU> symbolic, double pivot_tolerance, int threads)
    : symbolic_(std::move(symbolic)), pivot_tolerance_(pivot_tolerance) {
    if (!symbolic_) throw std::invalid_argument("SparseLU needs a symbolic analysis, got null");
    if (!(pivot_tolerance >= 0.0 && pivot_tolerance < 1.0))
        throw std::invalid_argument("pivot tolerance must lie in [0, 1), got " + detail::str(pivot_tolerance));
    if (threads < 0) throw std::invalid_argument("threads must be >= 0, got " + std::to_string(threads));
    if (!symbolic_->multifrontal() && detail::thread_count(threads, 2) >= 2) {
        const detail::TreeSplit split = detail::split_elimination_tree(*symbolic_);
        if (split.usable()) {
            const SymbolicLU& s = *symbolic_;
            split_mid_ = split.mid;
            split_top_ = split.top;
            side_work_.assign(detail::kRowGroup * static_cast<size_t>(s.n()), 0.0);
            partial_.resize(static_cast<size_t>(s.row_ptr()[s.n()] - s.row_ptr()[split.top]));
            side_norms_.resize(2 * static_cast<size_t>(s.n() - split.top));
        }
    }
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

Elimination elimination_for(index_t n, int threads) {
    if (threads < 0) throw std::invalid_argument("threads must be >= 0, got " + std::to_string(threads));
    return detail::thread_count(threads, 2) >= 2 && n <= kTwoThreadsRowByRowUpTo ? Elimination::RowByRow
                                                                                : Elimination::Automatic;
}

namespace {

// With a_values both kernels start from A directly; without, from values().
FPSCORE_SIMD_CLONES
detail::PivotFailure factor_kernel(const SymbolicLU& sym, const double* a_values, const detail::FrontAssembly* assembly,
                                   double* lu, double* inv_piv, detail::FrontWorkspace ws, double tolerance) {
    const detail::FlushSubnormals flush;
    if (sym.multifrontal())
        return detail::multifrontal_factor<1>(sym, lu, inv_piv, ws, tolerance, 1, a_values, assembly);
    return detail::rowwise_factor<1>(sym, lu, inv_piv, ws.norms, tolerance, 1, a_values);
}

// The pieces of a factorisation on two threads (tree_split.hpp).
FPSCORE_SIMD_CLONES
detail::PivotFailure factor_rows(const SymbolicLU& sym, index_t first, index_t last, const double* a_values,
                                 double* lu, double* inv_piv, double* work, double tolerance) {
    const detail::FlushSubnormals flush;
    return detail::rowwise_factor_rows<1>(sym, first, last, lu, inv_piv, work, tolerance, 1, a_values);
}

FPSCORE_SIMD_CLONES
void factor_separator_partial(const SymbolicLU& sym, index_t lo, index_t hi, index_t top, bool with_top,
                              const double* a_values, double* lu, const double* inv_piv, double* work,
                              double* partial, double* norms) {
    const detail::FlushSubnormals flush;
    detail::rowwise_separator_partial<1>(sym, lo, hi, top, with_top, a_values, lu, inv_piv, work, partial, norms);
}

FPSCORE_SIMD_CLONES
detail::PivotFailure factor_separator_finish(const SymbolicLU& sym, index_t top, double* lu, double* inv_piv,
                                             double* work, const double* partial, const double* norms0,
                                             const double* norms1, double tolerance) {
    const detail::FlushSubnormals flush;
    return detail::rowwise_separator_finish<1>(sym, top, lu, inv_piv, work, partial, norms0, norms1, tolerance, 1);
}

}  // namespace

void SparseLU::factor(const double* a_values) { factor_from(a_values); }

detail::PivotFailure SparseLU::factor_two_sides(const double* a_values) {
    const SymbolicLU& s = *symbolic_;
    const index_t top = split_top_, mid = split_mid_;
    double* lu = values_.data();
    double* inv = inv_pivots_.data();
    double* norms0 = side_norms_.data();
    double* norms1 = norms0 + (s.n() - top);
    detail::PivotFailure side0, side1;
    // Each side's own rows, then its columns of the separator's rows (side 0's partial
    // sums in place in lu, side 1's in partial_).
    detail::run_pair(
        [&] {
            side0 = factor_rows(s, 0, mid, a_values, lu, inv, row_norms_.data(), pivot_tolerance_);
            if (side0.row < 0)
                factor_separator_partial(s, 0, mid, top, true, a_values, lu, inv, row_norms_.data(),
                                         lu + s.row_ptr()[top], norms0);
        },
        [&] {
            side1 = factor_rows(s, mid, top, a_values, lu, inv, side_work_.data(), pivot_tolerance_);
            if (side1.row < 0)
                factor_separator_partial(s, mid, top, top, false, a_values, lu, inv, side_work_.data(),
                                         partial_.data(), norms1);
        });
    if (side0.row >= 0) return side0;  // the first failing row in elimination order
    if (side1.row >= 0) return side1;
    return factor_separator_finish(s, top, lu, inv, row_norms_.data(), partial_.data(), norms0, norms1,
                                   pivot_tolerance_);
}

void SparseLU::factor_assembled() { factor_from(nullptr); }

void SparseLU::factor_from(const double* a_values) {
    factored_ = false;
    const SymbolicLU& s = *symbolic_;
    const detail::FrontWorkspace ws{front_.data(), arena_.data(), row_norms_.data(), front_rows_.data()};
    const detail::PivotFailure bad =
        split_top_ > 0 && a_values != nullptr
            ? factor_two_sides(a_values)
            : factor_kernel(s, a_values, assembly_.get(), values_.data(), inv_pivots_.data(), ws, pivot_tolerance_);
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
void solve_one(const SymbolicLU& sym, const double* lu, double* x) {
    const detail::FlushSubnormals flush;
    detail::substitute<1>(sym, lu, nullptr, x);
}

FPSCORE_SIMD_CLONES
void solve_many(const SymbolicLU& sym, const double* FPSCORE_RESTRICT lu, double* FPSCORE_RESTRICT x, offset_t r) {
    const detail::FlushSubnormals flush;
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
