// Numeric LU of one matrix on the symbolic pattern (row by row, the rows of a group
// interleaved in one vector; two threads on the halves of the elimination tree), and the triangular
// solves. Static pivoting: the FP matrices are diagonally dominant.
#include "fpscore/sparse/sparse_lu.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/aligned_vector.hpp"
#include "common/format.hpp"
#include "common/helper_thread.hpp"
#include "common/parallel.hpp"
#include "common/simd_dispatch.hpp"
#include "fpscore/errors.hpp"
#include "sparse/numeric/block_schedule.hpp"
#include "sparse/numeric/rowwise_single.hpp"
#include "sparse/numeric/triangular_solve.hpp"
#include "sparse/symbolic/symbolic_plan.hpp"
#include "sparse/symbolic/tree_split.hpp"

namespace fpscore {

using detail::SymbolicPlan;

struct SparseLU::Impl {
    Impl(std::shared_ptr<const SymbolicLU> symbolic, double pivot_tolerance, int threads);
    // Factorises from A's values (analysed CSR order).
    void factor(const double* a_values);
    // The two-thread factorisation from A's values.
    detail::PivotFailure factor_two_sides(const double* a_values);
    // After a failed factorisation: the work rows of both sides back to zero.
    void clear_work();
    // `work` needs n * nrhs entries.
    void solve(double* b, index_t nrhs, double* work) const;

    std::shared_ptr<const SymbolicLU> symbolic_;
    double pivot_tolerance_;
    aligned_vector<double> values_;
    aligned_vector<double> work_;        // the interleaved work rows of a group (zero between uses)
    aligned_vector<double> inv_pivots_;  // reciprocal pivots
    // Two threads: side 0 rows [0, split_mid_), side 1 [split_mid_, split_top_), then the
    // separator (split_top_ = 0: one thread).
    index_t split_mid_ = 0, split_top_ = 0;
    aligned_vector<double> side_work_;   // side 1's work rows
    aligned_vector<double> partial_;     // side 1's partial sums of the separator rows
    aligned_vector<double> side_norms_;  // row norms of the separator rows, per side
    // Block schedules: rows (all, or side 0), side 1's rows, each side's columns of the
    // separator rows, the separator's own columns.
    detail::BlockSchedule schedules_[5];
    bool factored_ = false;
};

SparseLU::Impl::Impl(std::shared_ptr<const SymbolicLU> symbolic, double pivot_tolerance, int threads)
    : symbolic_(std::move(symbolic)), pivot_tolerance_(pivot_tolerance) {
    if (!symbolic_) throw std::invalid_argument("SparseLU needs a symbolic analysis, got null");
    detail::simd_level();  // an invalid FPSCORE_SIMD throws here, before any kernel runs
    if (!(pivot_tolerance >= 0.0 && pivot_tolerance < 1.0))
        throw std::invalid_argument("pivot tolerance must lie in [0, 1), got " + detail::str(pivot_tolerance));
    if (threads < 0) throw std::invalid_argument("threads must be >= 0, got " + std::to_string(threads));
    const detail::SymbolicPlan& s = symbolic_->plan();
    const size_t work = detail::kGroupWorkRows * static_cast<size_t>(s.n);
    if (detail::thread_count(threads, 2) >= 2) {
        const detail::TreeSplit split = detail::split_elimination_tree(s);
        if (split.usable()) {
            split_mid_ = split.mid;
            split_top_ = split.top;
            side_work_.assign(work, 0.0);
            partial_.resize(static_cast<size_t>(s.row_ptr[s.n] - s.row_ptr[split.top]));
            side_norms_.resize(2 * static_cast<size_t>(s.n - split.top));
        }
    }
    values_.resize(static_cast<size_t>(s.nnz_factors()));  // factor() writes all of it
    work_.assign(work, 0.0);
    inv_pivots_.resize(static_cast<size_t>(s.n));
}

namespace {

// Rows [first, last), G rows per group, from A's values (analysed CSR order).
FPSCORE_INLINE detail::PivotFailure factor_rows_body(const SymbolicPlan& sym, index_t first, index_t last,
                                                     const double* a_values, double* lu, double* inv_piv, double* work,
                                                     double tolerance, detail::BlockSchedule* schedule) {
    const detail::FlushSubnormals flush;
    if (detail::has_wide_registers())
        return detail::group_factor_rows<8>(sym, first, last, a_values, lu, inv_piv, work, tolerance, schedule);
    return detail::group_factor_rows<4>(sym, first, last, a_values, lu, inv_piv, work, tolerance, schedule);
}
FPSCORE_SIMD_KERNEL(detail::PivotFailure, factor_rows,
                    (const SymbolicPlan& sym, index_t first, index_t last, const double* a_values, double* lu,
                     double* inv_piv, double* work, double tolerance, detail::BlockSchedule* schedule),
                    (sym, first, last, a_values, lu, inv_piv, work, tolerance, schedule))

// The separator's pieces of a factorisation on two threads (tree_split.hpp).
FPSCORE_INLINE void factor_separator_partial_body(const SymbolicPlan& sym, index_t lo, index_t hi, index_t top,
                                                  bool with_top, const double* a_values, double* lu,
                                                  const double* inv_piv, double* work, double* partial, double* norms,
                                                  detail::BlockSchedule* schedule) {
    const detail::FlushSubnormals flush;
    if (detail::has_wide_registers())
        detail::group_separator_partial<8>(sym, lo, hi, top, with_top, a_values, lu, inv_piv, work, partial, norms,
                                           schedule);
    else
        detail::group_separator_partial<4>(sym, lo, hi, top, with_top, a_values, lu, inv_piv, work, partial, norms,
                                           schedule);
}
FPSCORE_SIMD_KERNEL(void, factor_separator_partial,
                    (const SymbolicPlan& sym, index_t lo, index_t hi, index_t top, bool with_top,
                     const double* a_values, double* lu, const double* inv_piv, double* work, double* partial,
                     double* norms, detail::BlockSchedule* schedule),
                    (sym, lo, hi, top, with_top, a_values, lu, inv_piv, work, partial, norms, schedule))

FPSCORE_INLINE detail::PivotFailure factor_separator_finish_body(const SymbolicPlan& sym, index_t top, double* lu,
                                                                 double* inv_piv, double* work, const double* partial,
                                                                 const double* norms0, const double* norms1,
                                                                 double tolerance, detail::BlockSchedule* schedule) {
    const detail::FlushSubnormals flush;
    if (detail::has_wide_registers())
        return detail::group_separator_finish<8>(sym, top, lu, inv_piv, work, partial, norms0, norms1, tolerance,
                                                 schedule);
    return detail::group_separator_finish<4>(sym, top, lu, inv_piv, work, partial, norms0, norms1, tolerance,
                                             schedule);
}
FPSCORE_SIMD_KERNEL(detail::PivotFailure, factor_separator_finish,
                    (const SymbolicPlan& sym, index_t top, double* lu, double* inv_piv, double* work,
                     const double* partial, const double* norms0, const double* norms1, double tolerance,
                     detail::BlockSchedule* schedule),
                    (sym, top, lu, inv_piv, work, partial, norms0, norms1, tolerance, schedule))

}  // namespace

detail::PivotFailure SparseLU::Impl::factor_two_sides(const double* a_values) {
    const detail::SymbolicPlan& s = symbolic_->plan();
    const index_t top = split_top_, mid = split_mid_;
    double* lu = values_.data();
    double* inv = inv_pivots_.data();
    double* norms0 = side_norms_.data();
    double* norms1 = norms0 + (s.n - top);
    detail::PivotFailure side0, side1;
    // Each side's own rows, then its columns of the separator's rows (side 0's partial
    // sums in place in lu, side 1's in partial_).
    detail::run_pair(
        [&] {
            side0 = factor_rows(s, 0, mid, a_values, lu, inv, work_.data(), pivot_tolerance_, &schedules_[0]);
            if (side0.row < 0)
                factor_separator_partial(s, 0, mid, top, true, a_values, lu, inv, work_.data(),
                                         lu + s.row_ptr[top], norms0, &schedules_[2]);
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

void SparseLU::Impl::clear_work() {
    std::fill(work_.begin(), work_.end(), 0.0);
    std::fill(side_work_.begin(), side_work_.end(), 0.0);
}

void SparseLU::Impl::factor(const double* a_values) {
    factored_ = false;
    const detail::SymbolicPlan& s = symbolic_->plan();
    detail::PivotFailure bad;
    try {
        bad = split_top_ > 0 ? factor_two_sides(a_values)
                             : factor_rows(s, 0, s.n, a_values, values_.data(), inv_pivots_.data(), work_.data(),
                                           pivot_tolerance_, &schedules_[0]);
    } catch (...) {  // e.g. bad_alloc while recording a schedule: the work rows are mid-use
        clear_work();
        throw;
    }
    if (bad.row < 0) {
        factored_ = true;
        return;
    }
    // The failing side zeroes its own work rows; the other side may have stopped mid-group,
    // and lanes that hold no block compute x -= 0·u, which leaves NaN where u overflowed.
    clear_work();
    std::ostringstream msg;
    msg << (std::isfinite(bad.pivot) && std::isfinite(bad.norm) ? "zero or tiny" : "non-finite") << " pivot in row "
        << s.perm[bad.row] << " (elimination step " << bad.row << " of " << s.n
        << "): |u_ii| = " << std::abs(bad.pivot) << " against " << pivot_tolerance_
        << " * max_j |a_ij| = " << pivot_tolerance_ * bad.norm
        << "; the matrix is singular, not finite, or too ill-conditioned for static (diagonal) pivoting";
    throw SingularMatrixError(msg.str());
}

namespace {

// One right-hand side: L y = x over rows [first, last), or U z = y (backward) with the
// reciprocal pivots.
FPSCORE_INLINE void solve_rows_body(const SymbolicPlan& sym, const double* lu, const double* inv_piv, double* x,
                                    index_t first, index_t last, bool backward) {
    const detail::FlushSubnormals flush;
    if (backward)
        detail::substitute_backward<1>(sym, lu, inv_piv, x, first, last);
    else
        detail::substitute_forward<1>(sym, lu, x, first, last);
}
FPSCORE_SIMD_KERNEL(void, solve_rows,
                    (const SymbolicPlan& sym, const double* lu, const double* inv_piv, double* x, index_t first,
                     index_t last, bool backward),
                    (sym, lu, inv_piv, x, first, last, backward))

// Many right-hand sides, (n, r) row-major in elimination order.
FPSCORE_INLINE void solve_many_body(const SymbolicPlan& sym, const double* FPSCORE_RESTRICT lu,
                                    double* FPSCORE_RESTRICT x, offset_t r) {
    const detail::FlushSubnormals flush;
    detail::substitute_columns(sym, lu, x, r);
}
FPSCORE_SIMD_KERNEL(void, solve_many,
                    (const SymbolicPlan& sym, const double* FPSCORE_RESTRICT lu, double* FPSCORE_RESTRICT x,
                     offset_t r),
                    (sym, lu, x, r))

}  // namespace

void SparseLU::Impl::solve(double* b, index_t nrhs, double* work) const {
    const detail::SymbolicPlan& s = symbolic_->plan();
    const index_t n = s.n;
    const index_t* perm = s.perm.data();
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

SparseLU::SparseLU(std::shared_ptr<const SymbolicLU> symbolic, double pivot_tolerance, int threads)
    : impl_(std::make_unique<Impl>(std::move(symbolic), pivot_tolerance, threads)) {}
SparseLU::~SparseLU() = default;
SparseLU::SparseLU(SparseLU&&) noexcept = default;
SparseLU& SparseLU::operator=(SparseLU&&) noexcept = default;

void SparseLU::factor(const double* values, std::size_t count) {
    const auto nnz = static_cast<std::size_t>(impl_->symbolic_->nnz_matrix());
    if (count != nnz || (nnz > 0 && values == nullptr))
        throw std::invalid_argument("SparseLU::factor needs " + std::to_string(nnz) +
                                    " values (one per stored entry of the analysed matrix), got " +
                                    std::to_string(count));
    // One pass over the values (rejected like a size mismatch: the factors stay as they
    // were): the kernels, with no checks inside, would spread a NaN or inf.
    if (const auto bad = std::count_if(values, values + count, [](double v) { return !std::isfinite(v); }); bad > 0)
        throw std::invalid_argument("SparseLU::factor: the values contain " + std::to_string(bad) +
                                    " NaN or inf value(s)");
    impl_->factor(values);
}

void SparseLU::solve(double* b, std::size_t count, index_t nrhs) const {
    if (!impl_->factored_) throw std::invalid_argument("SparseLU::solve called before a successful factor");
    if (nrhs < 1) throw std::invalid_argument("nrhs must be >= 1, got " + std::to_string(nrhs));
    const auto size = static_cast<std::size_t>(impl_->symbolic_->n()) * static_cast<std::size_t>(nrhs);
    if (count != size || b == nullptr)
        throw std::invalid_argument("SparseLU::solve needs n * nrhs = " + std::to_string(size) +
                                    " right-hand side values, got " + std::to_string(count));
    std::vector<double> work(size);
    impl_->solve(b, nrhs, work.data());
}

const SymbolicLU& SparseLU::symbolic() const { return *impl_->symbolic_; }
bool SparseLU::factored() const { return impl_->factored_; }
double SparseLU::pivot_tolerance() const { return impl_->pivot_tolerance_; }
int SparseLU::threads() const { return impl_->split_top_ > 0 ? 2 : 1; }

}  // namespace fpscore
