// Forward and back substitution with factors in the row-wise layout of a SymbolicPlan: for
// L interleaved lanes (packs of matrices, or one matrix's group rows), and for r columns of
// right-hand sides (private header).
#pragma once

#include "sparse/symbolic/symbolic_plan.hpp"
#include "common/simd_dispatch.hpp"

namespace fpscore::detail {

// Σ_p v(p) · x[cols[p]] over [begin, end), v(p) pointing at entry p's value, with four
// partial sums so that consecutive multiply-adds do not wait on each other.
template <int L, class Value>
FPSCORE_INLINE typename VectorOps<L>::V dot_by_entry(Value v, const index_t* cols, const double* x, offset_t begin,
                                                   offset_t end) {
    using Ops = VectorOps<L>;
    typename Ops::V s0{}, s1{}, s2{}, s3{};
    offset_t p = begin;
    for (; p + 4 <= end; p += 4) {
        s0 += Ops::load(v(p)) * Ops::load(x + static_cast<offset_t>(cols[p]) * L);
        s1 += Ops::load(v(p + 1)) * Ops::load(x + static_cast<offset_t>(cols[p + 1]) * L);
        s2 += Ops::load(v(p + 2)) * Ops::load(x + static_cast<offset_t>(cols[p + 2]) * L);
        s3 += Ops::load(v(p + 3)) * Ops::load(x + static_cast<offset_t>(cols[p + 3]) * L);
    }
    for (; p < end; ++p) s0 += Ops::load(v(p)) * Ops::load(x + static_cast<offset_t>(cols[p]) * L);
    return (s0 + s1) + (s2 + s3);
}

// Σ_p lu[p] · x[cols[p]] over [begin, end).
template <int L>
FPSCORE_INLINE typename VectorOps<L>::V row_dot(const double* FPSCORE_RESTRICT lu, const index_t* cols, const double* x,
                                              offset_t begin, offset_t end) {
    return dot_by_entry<L>([lu](offset_t p) FPSCORE_INLINE_LAMBDA { return lu + p * L; }, cols, x, begin, end);
}

// Solves L y = b in place (x = b in elimination order, already permuted; L unit lower),
// rows [first, last) (default: all) once the rows their L parts refer to are done.
template <int L>
FPSCORE_INLINE void substitute_forward(const SymbolicPlan& sym, const double* FPSCORE_RESTRICT lu,
                                       double* FPSCORE_RESTRICT x, index_t first = 0, index_t last = -1) {
    using Ops = VectorOps<L>;
    const offset_t* row_ptr = sym.row_ptr.data();
    const offset_t* diag = sym.diag.data();
    const index_t* cols = sym.cols.data();
    if (last < 0) last = sym.n;
    for (index_t i = first; i < last; ++i) {
        double* xi = x + static_cast<offset_t>(i) * L;
        Ops::store(xi, Ops::load(xi) - row_dot<L>(lu, cols, x, row_ptr[i], diag[i]));
    }
}

// Solves U z = y in place, rows [first, last) (default: all) from the last, once the rows
// their U parts refer to are done; inv_piv holds the reciprocal pivots.
template <int L>
FPSCORE_INLINE void substitute_backward(const SymbolicPlan& sym, const double* FPSCORE_RESTRICT lu,
                                        const double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT x,
                                        index_t first = 0, index_t last = -1) {
    using Ops = VectorOps<L>;
    const offset_t* row_ptr = sym.row_ptr.data();
    const offset_t* diag = sym.diag.data();
    const index_t* cols = sym.cols.data();
    if (last < 0) last = sym.n;
    for (index_t i = last - 1; i >= first; --i) {
        double* xi = x + static_cast<offset_t>(i) * L;
        const auto acc = Ops::load(xi) - row_dot<L>(lu, cols, x, diag[i] + 1, row_ptr[i + 1]);
        Ops::store(xi, acc * Ops::load(inv_piv + static_cast<offset_t>(i) * L));
    }
}

// Solves L U z = y in place for r right-hand sides stored row-major as (n, r) in
// elimination order (already permuted), dividing by the pivots on U's diagonal.
FPSCORE_INLINE void substitute_columns(const SymbolicPlan& sym, const double* FPSCORE_RESTRICT lu,
                                       double* FPSCORE_RESTRICT x, offset_t r) {
    const index_t n = sym.n;
    const offset_t* row_ptr = sym.row_ptr.data();
    const offset_t* diag = sym.diag.data();
    const index_t* cols = sym.cols.data();
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

}  // namespace fpscore::detail
