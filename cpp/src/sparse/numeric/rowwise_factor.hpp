// Row-by-row ("IKJ") numeric LU on the row-wise factor layout (private header).
//
// Each row is scattered into a dense work row w, the U rows of its L part are subtracted
// supernode by supernode, and the row is gathered back. The L part of row i holds whole
// supernodes S (exactly those whose common tail T_S contains i) and the start of i's own
// one, so rows are eliminated in groups of four: a supernode several rows of the group
// need is streamed once for all of them, cutting the loads of U per multiply-add. Within a
// supernode, up to four of its rows update w[c] (of every row concerned) at once, w[c] in a
// register.
// On small grids, whose supernodes are small, this beats forming dense fronts.
#pragma once

#include <algorithm>
#include <cmath>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

#include "sparse/numeric/block_cursor.hpp"
#include "sparse/numeric/multifrontal.hpp"
#include "common/simd_dispatch.hpp"
#include "sparse/numeric/triangular_solve.hpp"

namespace fpscore::detail {

// The tail of source rows [k, k + R) of one supernode (all of them end at column b - 1
// inside it) subtracted from the work rows w[0..T): w_t[cols[j]] −= Σ_r w_t[k + r] · U(k + r)[j].
template <int L, int R, int T>
FPSCORE_INLINE void update_tail(const double* FPSCORE_RESTRICT lu, const offset_t* diag, index_t b, index_t k,
                                const index_t* cols, offset_t len, double* const* w) {
    using Ops = VectorOps<L>;
    using V = typename Ops::V;
    V l[T][R];
    const double* u[R];
    for (int r = 0; r < R; ++r) {
        for (int t = 0; t < T; ++t) l[t][r] = Ops::load(w[t] + static_cast<offset_t>(k + r) * L);
        u[r] = lu + (diag[k + r] + (b - k - r)) * L;
    }
    for (offset_t j = 0; j < len; ++j) {
        const offset_t o = j * L, c = static_cast<offset_t>(cols[j]) * L;
        V x[T];
        for (int t = 0; t < T; ++t) x[t] = Ops::load(w[t] + c);
        for (int r = 0; r < R; ++r) {
            const V ur = Ops::load(u[r] + o);
            for (int t = 0; t < T; ++t) x[t] -= l[t][r] * ur;
        }
        for (int t = 0; t < T; ++t) Ops::store(w[t] + c, x[t]);
    }
}

// Multipliers of the block's own columns [a, b) in the T work rows w: the dense triangle
// of the supernode's rows (U(k) starts with k+1, ..., b-1), each U entry loaded once for
// all T rows (whose chains then run side by side).
template <int L, int T>
FPSCORE_INLINE void eliminate_triangle(const offset_t* diag, index_t a, index_t b, const double* FPSCORE_RESTRICT lu,
                                       const double* FPSCORE_RESTRICT inv_piv, double* const* w) {
    using Ops = VectorOps<L>;
    using V = typename Ops::V;
    for (index_t k = a; k < b; ++k) {
        const offset_t at_k = static_cast<offset_t>(k) * L;
        const V inv = Ops::load(inv_piv + at_k);
        V lk[T];
        for (int t = 0; t < T; ++t) {
            lk[t] = Ops::load(w[t] + at_k) * inv;
            Ops::store(w[t] + at_k, lk[t]);
        }
        const double* u = lu + (diag[k] + 1) * L;
        for (index_t c = k + 1; c < b; ++c) {
            const V uc = Ops::load(u + static_cast<offset_t>(c - k - 1) * L);
            const offset_t at_c = static_cast<offset_t>(c) * L;
            for (int t = 0; t < T; ++t) Ops::store(w[t] + at_c, Ops::load(w[t] + at_c) - lk[t] * uc);
        }
    }
}

// Subtracts rows [a, b) of one supernode from the T work rows w (the triangle first, then
// the common tail, each streamed once for all of them).
template <int L, int T>
FPSCORE_INLINE void eliminate_block(const SymbolicPlan& sym, index_t a, index_t b, const double* FPSCORE_RESTRICT lu,
                                    const double* FPSCORE_RESTRICT inv_piv, double* const* w) {
    if (a >= b) return;
    const offset_t* row_ptr = sym.row_ptr.data();
    const offset_t* diag = sym.diag.data();
    eliminate_triangle<L, T>(diag, a, b, lu, inv_piv, w);
    const offset_t tail = diag[a] + (b - a);  // first tail entry of row a
    const offset_t len = row_ptr[a + 1] - tail;
    const index_t* cols = sym.cols.data() + tail;
    // Four source rows per pass (their T·4 multipliers stay in registers; with AVX2's 16
    // registers and T = 4 a few spill, measured to cost less than two rows per pass), then 2, 1.
    index_t k = a;
    for (; k + 4 <= b; k += 4) update_tail<L, 4, T>(lu, diag, b, k, cols, len, w);
    if (k + 2 <= b) update_tail<L, 2, T>(lu, diag, b, k, cols, len, w), k += 2;
    if (k < b) update_tail<L, 1, T>(lu, diag, b, k, cols, len, w);
}

// eliminate_block for `count` (1 to 4) work rows.
template <int L>
FPSCORE_INLINE void eliminate_block_rows(const SymbolicPlan& sym, index_t a, index_t b, const double* lu,
                                         const double* inv_piv, double* const* w, int count) {
    switch (count) {
        case 1: eliminate_block<L, 1>(sym, a, b, lu, inv_piv, w); break;
        case 2: eliminate_block<L, 2>(sym, a, b, lu, inv_piv, w); break;
        case 3: eliminate_block<L, 3>(sym, a, b, lu, inv_piv, w); break;
        default: eliminate_block<L, 4>(sym, a, b, lu, inv_piv, w); break;
    }
}

// Row i of A (analysed CSR order, element stride L) into the zero work row w; returns
// max_j |a_ij|.
template <int L>
FPSCORE_INLINE typename VectorOps<L>::V load_row(const SymbolicPlan& sym, index_t i, const double* FPSCORE_RESTRICT a_values,
                                                 double* FPSCORE_RESTRICT w) {
    using Ops = VectorOps<L>;
    const index_t* cols = sym.cols.data();
    typename Ops::V norm{};
    // Duplicates of A add up in w; the norm is taken of the sums.
    const offset_t* a_ptr = sym.matrix_indptr.data();
    const offset_t* a_to_factor = sym.matrix_to_factor.data();
    const index_t r = sym.perm[i];
    for (offset_t p = a_ptr[r]; p < a_ptr[r + 1]; ++p) {
        double* wc = w + static_cast<offset_t>(cols[a_to_factor[p]]) * L;
        Ops::store(wc, Ops::load(wc) + Ops::load(a_values + p * L));
    }
    for (offset_t p = a_ptr[r]; p < a_ptr[r + 1]; ++p)
        norm = Ops::max_abs(norm, Ops::load(w + static_cast<offset_t>(cols[a_to_factor[p]]) * L));
    return norm;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// Entries [begin, end) of a finished row of eight lanes (one cache line each) from the work
// row into the factor with non-temporal stores, which neither read the lines first nor
// evict lines the elimination still needs; returns end. Only called with AVX-512 present;
// stream_fence() must follow before other threads read the factor.
__attribute__((target("avx512f"))) inline offset_t stream_out_row(double* w, const index_t* cols, double* lu,
                                                                 offset_t begin, offset_t end) {
    const __m512d zero = _mm512_setzero_pd();
    for (offset_t p = begin; p < end; ++p) {
        double* wc = w + static_cast<offset_t>(cols[p]) * 8;
        _mm512_stream_pd(lu + p * 8, _mm512_load_pd(wc));
        _mm512_store_pd(wc, zero);
    }
    return end;
}
inline void stream_fence() { _mm_sfence(); }
#else
inline offset_t stream_out_row(double*, const index_t*, double*, offset_t begin, offset_t) { return begin; }
inline void stream_fence() {}
#endif

// Pivot test and reciprocal of row i, then w back into lu (leaving w zero). With y, also
// row i of the forward substitution.
template <int L>
FPSCORE_INLINE PivotFailure finish_row(const SymbolicPlan& sym, index_t i, typename VectorOps<L>::V norm_v,
                                       double tolerance, index_t active, double* FPSCORE_RESTRICT lu,
                                       double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w,
                                       double* FPSCORE_RESTRICT y, bool stream) {
    using Ops = VectorOps<L>;
    const offset_t* row_ptr = sym.row_ptr.data();
    const index_t* cols = sym.cols.data();

    double norm[L];
    Ops::store(norm, norm_v);
    const double* piv = w + static_cast<offset_t>(i) * L;
    PivotFailure failure;
    for (index_t l = 0; l < active && failure.row < 0; ++l)
        if (!usable_pivot(piv[l], norm[l], tolerance)) failure = {i, l, piv[l], norm[l]};
    if (failure.row < 0) Ops::store(inv_piv + static_cast<offset_t>(i) * L, 1.0 / Ops::load(piv));
    // Row i of the forward substitution, with the operations of substitute_forward.
    const offset_t begin = row_ptr[i], mid = sym.diag[i];
    double* yi = y != nullptr ? y + static_cast<offset_t>(i) * L : nullptr;
    offset_t p = begin;
    if constexpr (L == 8) {
        if (stream) {  // the L part goes past the caches: take the products from w first
            const auto value = [w, cols](offset_t q) FPSCORE_INLINE_LAMBDA { return w + static_cast<offset_t>(cols[q]) * L; };
            Ops::store(yi, Ops::load(yi) - dot_by_entry<L>(value, cols, y, begin, mid));
            p = stream_out_row(w, cols, lu, begin, mid);
        }
    }
    for (; p < row_ptr[i + 1]; ++p) {
        double* wc = w + static_cast<offset_t>(cols[p]) * L;
        Ops::store(lu + p * L, Ops::load(wc));
        Ops::store(wc, typename Ops::V{});
    }
    if (yi != nullptr && !stream) Ops::store(yi, Ops::load(yi) - row_dot<L>(lu, cols, y, begin, mid));
    return failure;
}

// Rows eliminated together; work holds kRowGroup dense work rows.
constexpr index_t kRowGroup = 4;

// The supernodes of the group's L parts at positions [p[t], e[t]) with columns below
// `limit`, each subtracted once from all the g work rows that hold it; advances p.
template <int L>
FPSCORE_INLINE void eliminate_columns(const SymbolicPlan& sym, index_t limit, const double* FPSCORE_RESTRICT lu,
                                      const double* FPSCORE_RESTRICT inv_piv, double* const* w, index_t g,
                                      offset_t* p, const offset_t* e, BlockCursor* cursor = nullptr) {
    for_each_block(sym, limit, g, kRowGroup, p, e, cursor,
                   [&](index_t a, index_t b, unsigned holders) FPSCORE_INLINE_LAMBDA {
                       double* members[kRowGroup];
                       int count = 0;
                       for (index_t t = 0; t < g; ++t)
                           if (holders >> t & 1) members[count++] = w[t];
                       eliminate_block_rows<L>(sym, a, b, lu, inv_piv, members, count);
                   });
}

// The columns inside the group i..i+g-1, whose L parts before i are done: row k, once
// final, is gathered into lu and subtracted from the later rows that hold column k. On a
// bad pivot the work rows are left zero.
template <int L>
FPSCORE_INLINE PivotFailure finish_group(const SymbolicPlan& sym, index_t i, index_t g,
                                         const typename VectorOps<L>::V* norm, double tolerance, index_t active,
                                         double* FPSCORE_RESTRICT lu, double* FPSCORE_RESTRICT inv_piv,
                                         double* const* w, offset_t* p, const offset_t* e,
                                         double* FPSCORE_RESTRICT y, bool stream) {
    using V = typename VectorOps<L>::V;
    const offset_t* row_ptr = sym.row_ptr.data();
    const index_t* cols = sym.cols.data();
    for (index_t s = 0; s < g; ++s) {
        const index_t k = i + s;
        if (const PivotFailure f =
                finish_row<L>(sym, k, norm[s], tolerance, active, lu, inv_piv, w[s], y, stream);
            f.row >= 0) {
            if (stream) stream_fence();
            for (index_t t = s + 1; t < g; ++t)  // leave the work rows zero
                for (offset_t q = row_ptr[i + t]; q < row_ptr[i + t + 1]; ++q)
                    VectorOps<L>::store(w[t] + static_cast<offset_t>(cols[q]) * L, V{});
            return f;
        }
        double* members[kRowGroup];
        int count = 0;
        for (index_t t = s + 1; t < g; ++t)
            if (p[t] < e[t] && cols[p[t]] == k) {
                members[count++] = w[t];
                ++p[t];
            }
        if (count > 0) eliminate_block_rows<L>(sym, k, k + 1, lu, inv_piv, members, count);
    }
    return {};
}

// Factorises into `lu` (element stride L; need not be initialised). work (kRowGroup · n · L)
// must be zero and is left zero. Each row starts from A's values in the analysed CSR order
// (element stride L).
// With y (n · L, in elimination order) L y = y is solved on the way; then, with
// stream_l_parts (eight lanes, AVX-512), the rows' L parts go to memory with non-temporal
// stores (a win once the factor is well beyond L2: measured +5 % at 64², -4 % at 32²).
// With a schedule, the supernode blocks are recorded or replayed (block_cursor.hpp).
template <int L>
FPSCORE_INLINE PivotFailure rowwise_factor(const SymbolicPlan& sym, double* FPSCORE_RESTRICT lu,
                                           double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT work,
                                           double tolerance, index_t active,
                                           const double* FPSCORE_RESTRICT a_values,
                                           double* FPSCORE_RESTRICT y = nullptr, bool stream_l_parts = false,
                                           BlockSchedule* schedule = nullptr) {
    BlockCursor cursor(schedule);
    const bool stream = L == 8 && y != nullptr && stream_l_parts && has_wide_registers();
    using V = typename VectorOps<L>::V;
    const offset_t* row_ptr = sym.row_ptr.data();
    const offset_t* diag = sym.diag.data();
    const index_t n = sym.n;
    for (index_t i = 0; i < n; i += kRowGroup) {
        const index_t g = std::min(kRowGroup, n - i);
        double* w[kRowGroup];
        V norm[kRowGroup];
        offset_t p[kRowGroup], e[kRowGroup];  // the rows' L parts still to subtract: [p, e)
        for (index_t t = 0; t < g; ++t) {
            w[t] = work + static_cast<offset_t>(t) * n * L;
            norm[t] = load_row<L>(sym, i + t, a_values, w[t]);
            p[t] = row_ptr[i + t];
            e[t] = diag[i + t];
        }
        // Columns before the group: whole supernodes (the one holding i cut at i).
        eliminate_columns<L>(sym, i, lu, inv_piv, w, g, p, e, &cursor);
        if (const PivotFailure f =
                finish_group<L>(sym, i, g, norm, tolerance, active, lu, inv_piv, w, p, e, y, stream);
            f.row >= 0)
            return f;
    }
    if (stream) stream_fence();
    cursor.finish();
    return {};
}

}  // namespace fpscore::detail
