// Row-by-row numeric LU of one matrix with the G rows of a group interleaved in one vector
// (private header).
//
// Vocabulary: "lanes" are matrices interleaved in a pack (rowwise_factor.hpp, PackedLU);
// here the vector holds the G "group rows" of one matrix. With one matrix the pack kernels'
// multiply-adds would be scalar. Here the work rows of a group of G consecutive rows are interleaved instead (column
// c of row t at w[c·G + t]), so subtracting a U row from the group is one vector operation
// per column, with the multipliers of the G rows in one register. A row of the group that
// does not hold a supernode has zeros in the supernode's columns, hence zero multipliers:
// every supernode any row of the group holds is subtracted from all G rows at once.
// Entries of w outside a row's pattern stay (signed) zero; a failure zeroes all of w.
#pragma once

#include <algorithm>
#include <cmath>

#include "sparse/numeric/block_cursor.hpp"
#include "sparse/numeric/multifrontal.hpp"
#include "common/simd_dispatch.hpp"

namespace fpscore::detail {

template <int G>
using GroupRows = typename SimdVector<G>::type;

// The most rows a group interleaves (G = 8 with AVX-512, else 4): w needs n · kGroupWorkRows.
constexpr index_t kGroupWorkRows = 8;

// w[c] −= Σ_r l[r] · U(k + r)[j] over the common tail (c = cols[j]) of source rows [k, k + R)
// of one supernode, all of which end at column b - 1.
template <int G, int R>
FPSCORE_INLINE void group_update_tail(const double* FPSCORE_RESTRICT lu, const offset_t* diag, index_t b, index_t k,
                                      const index_t* cols, offset_t len, double* FPSCORE_RESTRICT w) {
    using V = GroupRows<G>;
    V l[R];
    const double* u[R];
    for (int r = 0; r < R; ++r) {
        l[r] = load_vector<G>(w + static_cast<offset_t>(k + r) * G);
        u[r] = lu + diag[k + r] + (b - k - r);
    }
    for (offset_t j = 0; j < len; ++j) {
        double* wc = w + static_cast<offset_t>(cols[j]) * G;
        V x = load_vector<G>(wc);
        for (int r = 0; r < R; ++r) x -= l[r] * u[r][j];
        store_vector<G>(wc, x);
    }
}

// Subtracts rows [a, b) of one supernode from the G interleaved work rows: the multipliers
// of its own columns (the dense triangle), then its common tail.
template <int G>
FPSCORE_INLINE void group_eliminate_block(const SymbolicPlan& sym, index_t a, index_t b, const double* FPSCORE_RESTRICT lu,
                                          const double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w) {
    using V = GroupRows<G>;
    const offset_t* row_ptr = sym.row_ptr.data();
    const offset_t* diag = sym.diag.data();
    for (index_t k = a; k < b; ++k) {
        double* wk = w + static_cast<offset_t>(k) * G;
        const V l = load_vector<G>(wk) * inv_piv[k];
        store_vector<G>(wk, l);
        const double* u = lu + diag[k] + 1;
        for (index_t c = k + 1; c < b; ++c) {
            double* wc = w + static_cast<offset_t>(c) * G;
            store_vector<G>(wc, load_vector<G>(wc) - l * u[c - k - 1]);
        }
    }
    const offset_t tail = diag[a] + (b - a);
    const offset_t len = row_ptr[a + 1] - tail;
    const index_t* cols = sym.cols.data() + tail;
    index_t k = a;
    for (; k + 8 <= b; k += 8) group_update_tail<G, 8>(lu, diag, b, k, cols, len, w);
    if (k + 4 <= b) group_update_tail<G, 4>(lu, diag, b, k, cols, len, w), k += 4;
    if (k + 2 <= b) group_update_tail<G, 2>(lu, diag, b, k, cols, len, w), k += 2;
    if (k < b) group_update_tail<G, 1>(lu, diag, b, k, cols, len, w);
}

// The supernodes of the group's L parts at positions [p[t], e[t]) with columns below
// `limit`, each subtracted once from the whole group; advances p (to the first position at
// or past `limit`). With a cursor, the blocks are replayed from, or recorded into, its
// schedule.
template <int G>
FPSCORE_INLINE void group_eliminate_columns(const SymbolicPlan& sym, index_t limit, const double* FPSCORE_RESTRICT lu,
                                            const double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w,
                                            index_t g, offset_t* p, const offset_t* e, BlockCursor* cursor = nullptr) {
    for_each_block(sym, limit, g, G, p, e, cursor,
                   [&](index_t a, index_t b, unsigned) FPSCORE_INLINE_LAMBDA {
                       group_eliminate_block<G>(sym, a, b, lu, inv_piv, w);
                   });
}

// Adds A's entries of row i (analysed CSR order) with columns accepted by `take` into group row t;
// returns max |w| over them (duplicates summed first).
template <int G, class Take>
FPSCORE_INLINE double group_load_row(const SymbolicPlan& sym, index_t i, const double* FPSCORE_RESTRICT a_values,
                                     double* FPSCORE_RESTRICT w, index_t t, Take take) {
    const index_t* cols = sym.cols.data();
    const offset_t* a_ptr = sym.matrix_indptr.data();
    const offset_t* a_to_factor = sym.matrix_to_factor.data();
    const index_t r = sym.perm[i];
    for (offset_t p = a_ptr[r]; p < a_ptr[r + 1]; ++p)
        if (const index_t c = cols[a_to_factor[p]]; take(c)) w[static_cast<offset_t>(c) * G + t] += a_values[p];
    double norm = 0.0;
    for (offset_t p = a_ptr[r]; p < a_ptr[r + 1]; ++p)
        if (const index_t c = cols[a_to_factor[p]]; take(c))
            norm = std::max(norm, std::abs(w[static_cast<offset_t>(c) * G + t]));
    return norm;
}

// Group row t's entries at factor positions [begin, end) into dst[q − begin], zeroed in w.
template <int G>
FPSCORE_INLINE void group_take_out(const index_t* cols, offset_t begin, offset_t end, double* FPSCORE_RESTRICT w,
                                   index_t t, double* FPSCORE_RESTRICT dst) {
    for (offset_t q = begin; q < end; ++q) {
        double& x = w[static_cast<offset_t>(cols[q]) * G + t];
        dst[q - begin] = x;
        x = 0.0;
    }
}

// The columns inside the group i..i+g-1, whose L parts before i are done: row k, once final,
// is tested, gathered into lu from position from[s] and subtracted from the later rows that
// hold column k (a finished group row is zero by then: its multipliers are zero). On a bad
// pivot all of w (n · G) is zeroed.
template <int G>
FPSCORE_INLINE PivotFailure finish_group_rows(const SymbolicPlan& sym, index_t i, index_t g, const double* norm,
                                               double tolerance, double* FPSCORE_RESTRICT lu,
                                               double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w,
                                               offset_t* p, const offset_t* e, const offset_t* from) {
    const offset_t* row_ptr = sym.row_ptr.data();
    const index_t* cols = sym.cols.data();
    for (index_t s = 0; s < g; ++s) {
        const index_t k = i + s;
        const double pivot = w[static_cast<offset_t>(k) * G + s];
        if (!usable_pivot(pivot, norm[s], tolerance)) {
            std::fill_n(w, static_cast<offset_t>(sym.n) * G, 0.0);
            return {k, 0, pivot, norm[s]};
        }
        inv_piv[k] = 1.0 / pivot;
        group_take_out<G>(cols, from[s], row_ptr[k + 1], w, s, lu + from[s]);
        bool later = false;  // does a later row of the group hold column k?
        for (index_t t = s + 1; t < g; ++t)
            if (p[t] < e[t] && cols[p[t]] == k) {
                later = true;
                ++p[t];
            }
        if (later) group_eliminate_block<G>(sym, k, k + 1, lu, inv_piv, w);
    }
    return {};
}

// The group i..i+g-1 once its rows are loaded: the supernodes before i, then the columns
// inside the group (finish_group_rows).
template <int G>
FPSCORE_INLINE PivotFailure complete_group_rows(const SymbolicPlan& sym, index_t i, index_t g, const double* norm,
                                                 double tolerance, double* FPSCORE_RESTRICT lu,
                                                 double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w,
                                                 offset_t* p, const offset_t* e, const offset_t* from,
                                                 BlockCursor* cursor) {
    group_eliminate_columns<G>(sym, i, lu, inv_piv, w, g, p, e, cursor);
    return finish_group_rows<G>(sym, i, g, norm, tolerance, lu, inv_piv, w, p, e, from);
}

// Rows [first, last) in groups of G: load(i, g, norm, p, e, from) fills the group's work rows,
// row norms and L positions, then the group is eliminated and finished.
template <int G, class Load>
FPSCORE_INLINE PivotFailure factor_row_groups(const SymbolicPlan& sym, index_t first, index_t last, double tolerance,
                                         double* FPSCORE_RESTRICT lu, double* FPSCORE_RESTRICT inv_piv,
                                         double* FPSCORE_RESTRICT w, BlockSchedule* schedule, Load load) {
    BlockCursor cursor(schedule);
    for (index_t i = first; i < last; i += G) {
        const index_t g = std::min<index_t>(G, last - i);
        double norm[G];
        offset_t p[G], e[G], from[G];
        load(i, g, norm, p, e, from);
        if (const PivotFailure f =
                complete_group_rows<G>(sym, i, g, norm, tolerance, lu, inv_piv, w, p, e, from, &cursor);
            f.row >= 0)
            return f;
    }
    cursor.finish();
    return {};
}

// Factorises rows [first, last) of one matrix into lu, from A's values (analysed CSR order);
// their L parts lie in [first, last) or in rows already factorised. w (n · G) must be zero and is left zero.
template <int G>
FPSCORE_INLINE PivotFailure group_factor_rows(const SymbolicPlan& sym, index_t first, index_t last,
                                              const double* FPSCORE_RESTRICT a_values, double* FPSCORE_RESTRICT lu,
                                              double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w,
                                              double tolerance, BlockSchedule* schedule = nullptr) {
    const offset_t* row_ptr = sym.row_ptr.data();
    const offset_t* diag = sym.diag.data();
    const auto every = [](index_t) FPSCORE_INLINE_LAMBDA { return true; };
    return factor_row_groups<G>(sym, first, last, tolerance, lu, inv_piv, w, schedule,
                           [&](index_t i, index_t g, double* norm, offset_t* p, offset_t* e,
                               offset_t* from) FPSCORE_INLINE_LAMBDA {
                               for (index_t t = 0; t < g; ++t) {
                                   norm[t] = group_load_row<G>(sym, i + t, a_values, w, t, every);
                                   from[t] = p[t] = row_ptr[i + t];
                                   e[t] = diag[i + t];
                               }
                           });
}

// The separator rows [top, n) of a split tree (tree_split.hpp), on one side's thread: A's
// entries of each row in columns [lo, hi) (and, with with_top, in columns >= top) are
// loaded, the supernodes in [lo, hi) (factorised by then) subtracted, the finished L
// entries of [lo, hi) written to lu, and the row's partial sums in columns >= top to
// partial[q − row_ptr[top]] (q: the entry's factor position); norms[i − top] gets
// max |a_ij| over the loaded entries. w (n · G) is zero and left zero.
template <int G>
FPSCORE_INLINE void group_separator_partial(const SymbolicPlan& sym, index_t lo, index_t hi, index_t top, bool with_top,
                                            const double* FPSCORE_RESTRICT a_values, double* FPSCORE_RESTRICT lu,
                                            const double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w,
                                            double* FPSCORE_RESTRICT partial, double* FPSCORE_RESTRICT norms,
                                            BlockSchedule* schedule = nullptr) {
    BlockCursor cursor(schedule);
    const offset_t* row_ptr = sym.row_ptr.data();
    const offset_t* diag = sym.diag.data();
    const index_t* cols = sym.cols.data();
    const index_t n = sym.n;
    const offset_t base = row_ptr[top];
    const auto mine = [&](index_t c) FPSCORE_INLINE_LAMBDA { return (c >= lo && c < hi) || (with_top && c >= top); };
    for (index_t i = top; i < n; i += G) {
        const index_t g = std::min<index_t>(G, n - i);
        offset_t p[G], e[G], begin[G];
        for (index_t t = 0; t < g; ++t) {
            norms[i + t - top] = group_load_row<G>(sym, i + t, a_values, w, t, mine);
            const index_t* row = cols + row_ptr[i + t];
            begin[t] = p[t] = row_ptr[i + t] + (std::lower_bound(row, cols + diag[i + t], lo) - row);
            e[t] = row_ptr[i + t] + (std::lower_bound(row, cols + diag[i + t], hi) - row);
        }
        group_eliminate_columns<G>(sym, hi, lu, inv_piv, w, g, p, e, &cursor);
        for (index_t t = 0; t < g; ++t) {
            group_take_out<G>(cols, begin[t], e[t], w, t, lu + begin[t]);
            const index_t* row = cols + row_ptr[i + t];
            const offset_t end = row_ptr[i + t + 1];
            const offset_t from = row_ptr[i + t] + (std::lower_bound(row, cols + end, top) - row);
            group_take_out<G>(cols, from, end, w, t, partial + (from - base));
        }
    }
    cursor.finish();
}

// The separator rows [top, n) after both sides' group_separator_partial: each row's columns
// >= top start from the sum of the two partials (side 0's in lu, side 1's in partial), with
// the pivot test against the larger of the two norms; then the separator's own columns are
// eliminated and the rows finished as in group_factor_rows.
template <int G>
FPSCORE_INLINE PivotFailure group_separator_finish(const SymbolicPlan& sym, index_t top, double* FPSCORE_RESTRICT lu,
                                                   double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w,
                                                   const double* FPSCORE_RESTRICT partial,
                                                   const double* FPSCORE_RESTRICT norms0,
                                                   const double* FPSCORE_RESTRICT norms1, double tolerance,
                                                   BlockSchedule* schedule = nullptr) {
    const offset_t* row_ptr = sym.row_ptr.data();
    const offset_t* diag = sym.diag.data();
    const index_t* cols = sym.cols.data();
    const offset_t base = row_ptr[top];
    return factor_row_groups<G>(sym, top, sym.n, tolerance, lu, inv_piv, w, schedule,
                           [&](index_t i, index_t g, double* norm, offset_t* p, offset_t* e,
                               offset_t* from) FPSCORE_INLINE_LAMBDA {
                               for (index_t t = 0; t < g; ++t) {
                                   norm[t] = std::max(norms0[i + t - top], norms1[i + t - top]);
                                   const index_t* row = cols + row_ptr[i + t];
                                   const offset_t end = row_ptr[i + t + 1];
                                   from[t] = p[t] = row_ptr[i + t] + (std::lower_bound(row, cols + end, top) - row);
                                   e[t] = diag[i + t];
                                   for (offset_t q = from[t]; q < end; ++q)
                                       w[static_cast<offset_t>(cols[q]) * G + t] = lu[q] + partial[q - base];
                               }
                           });
}

}  // namespace fpscore::detail
