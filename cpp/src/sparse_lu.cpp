// Numeric LU of one matrix on the symbolic pattern (row by row, the rows of a group in the
// lanes of a vector; two threads on the halves of the elimination tree), and the triangular
// solves. Static pivoting: the FP matrices are diagonally dominant.
#include "fpscore/sparse_lu.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "format.hpp"
#include "parallel.hpp"
#include "rowwise_single.hpp"
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
    const SymbolicLU& s = *symbolic_;
    const size_t work = detail::kLaneWorkRows * static_cast<size_t>(s.n());
    if (detail::thread_count(threads, 2) >= 2) {
        const detail::TreeSplit split = detail::split_elimination_tree(s);
        if (split.usable()) {
            split_mid_ = split.mid;
            split_top_ = split.top;
            side_work_.assign(work, 0.0);
            partial_.resize(static_cast<size_t>(s.row_ptr()[s.n()] - s.row_ptr()[split.top]));
            side_norms_.resize(2 * static_cast<size_t>(s.n() - split.top));
        }
    }
    values_.resize(static_cast<size_t>(s.nnz_factors()));  // factor() writes all of it
    work_.assign(work, 0.0);
    inv_pivots_.resize(static_cast<size_t>(s.n()));
}

namespace {

// Rows [first, last), G rows per group, from A's values (a_values) or from the values in lu.
FPSCORE_SIMD_CLONES
detail::PivotFailure factor_rows(const SymbolicLU& sym, index_t first, index_t last, const double* a_values,
                                 double* lu, double* inv_piv, double* work, double tolerance,
                                 detail::BlockSchedule* schedule) {
    const detail::FlushSubnormals flush;
    if (detail::has_wide_registers())
        return detail::lanes_factor_rows<8>(sym, first, last, a_values, lu, inv_piv, work, tolerance, schedule);
    return detail::lanes_factor_rows<4>(sym, first, last, a_values, lu, inv_piv, work, tolerance, schedule);
}

// The separator's pieces of a factorisation on two threads (tree_split.hpp).
FPSCORE_SIMD_CLONES
void factor_separator_partial(const SymbolicLU& sym, index_t lo, index_t hi, index_t top, bool with_top,
                              const double* a_values, double* lu, const double* inv_piv, double* work,
                              double* partial, double* norms, detail::BlockSchedule* schedule) {
    const detail::FlushSubnormals flush;
    if (detail::has_wide_registers())
        detail::lanes_separator_partial<8>(sym, lo, hi, top, with_top, a_values, lu, inv_piv, work, partial, norms,
                                           schedule);
    else
        detail::lanes_separator_partial<4>(sym, lo, hi, top, with_top, a_values, lu, inv_piv, work, partial, norms,
                                           schedule);
}

FPSCORE_SIMD_CLONES
detail::PivotFailure factor_separator_finish(const SymbolicLU& sym, index_t top, double* lu, double* inv_piv,
                                             double* work, const double* partial, const double* norms0,
                                             const double* norms1, double tolerance, detail::BlockSchedule* schedule) {
    const detail::FlushSubnormals flush;
    if (detail::has_wide_registers())
        return detail::lanes_separator_finish<8>(sym, top, lu, inv_piv, work, partial, norms0, norms1, tolerance,
                                                 schedule);
    return detail::lanes_separator_finish<4>(sym, top, lu, inv_piv, work, partial, norms0, norms1, tolerance,
                                             schedule);
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
            side0 = factor_rows(s, 0, mid, a_values, lu, inv, work_.data(), pivot_tolerance_, &schedules_[0]);
            if (side0.row < 0)
                factor_separator_partial(s, 0, mid, top, true, a_values, lu, inv, work_.data(),
                                         lu + s.row_ptr()[top], norms0, &schedules_[2]);
        },
        [&] {
            side1 = factor_rows(s, mid, top, a_values, lu, inv, side_work_.data(), pivot_tolerance_, &schedules_[1]);
            if (side1.row < 0)
                factor_separator_partial(s, mid, top, top, false, a_values, lu, inv, side_work_.data(),
                                         partial_.data(), norms1, &schedules_[3]);
        });
    if (side0.row >= 0) return side0;  // the first failing row in elimination order
    if (side1.row >= 0) return side1;
    return factor_separator_finish(s, top, lu, inv, work_.data(), partial_.data(), norms0, norms1, pivot_tolerance_,
                                   &schedules_[4]);
}

void SparseLU::factor_assembled() { factor_from(nullptr); }

void SparseLU::factor_from(const double* a_values) {
    factored_ = false;
    const SymbolicLU& s = *symbolic_;
    const detail::PivotFailure bad =
        split_top_ > 0 && a_values != nullptr
            ? factor_two_sides(a_values)
            : factor_rows(s, 0, s.n(), a_values, values_.data(), inv_pivots_.data(), work_.data(), pivot_tolerance_,
                          split_top_ > 0 ? nullptr : &schedules_[0]);
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

// One right-hand side: L y = x over rows [first, last), or U z = y (backward) with the
// reciprocal pivots.
FPSCORE_SIMD_CLONES
void solve_rows(const SymbolicLU& sym, const double* lu, const double* inv_piv, double* x, index_t first,
                index_t last, bool backward) {
    const detail::FlushSubnormals flush;
    if (backward)
        detail::substitute_backward<1>(sym, lu, inv_piv, x, first, last);
    else
        detail::substitute_forward<1>(sym, lu, x, first, last);
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
    const double* lu = values_.data();
    const double* inv = inv_pivots_.data();
    if (nrhs > 1) {
        solve_many(s, lu, work, r);
    } else if (split_top_ > 0) {
        // The halves of the tree in both sweeps at once; the separator after (forward) or
        // before (backward) them.
        const index_t mid = split_mid_, top = split_top_;
        detail::run_pair([&] { solve_rows(s, lu, inv, work, 0, mid, false); },
                         [&] { solve_rows(s, lu, inv, work, mid, top, false); });
        solve_rows(s, lu, inv, work, top, n, false);
        solve_rows(s, lu, inv, work, top, n, true);
        detail::run_pair([&] { solve_rows(s, lu, inv, work, 0, mid, true); },
                         [&] { solve_rows(s, lu, inv, work, mid, top, true); });
    } else {
        solve_rows(s, lu, inv, work, 0, n, false);
        solve_rows(s, lu, inv, work, 0, n, true);
    }
    for (index_t i = 0; i < n; ++i) std::copy_n(work + i * r, r, b + perm[i] * r);
}

void SparseLU::solve(double* b, index_t nrhs) const {
    std::vector<double> work(static_cast<size_t>(symbolic_->n()) * static_cast<size_t>(std::max<index_t>(nrhs, 1)));
    solve(b, nrhs, work.data());
}

}  // namespace fpscore
