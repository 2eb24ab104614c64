// Row-by-row ("IKJ") numeric LU on the row-wise factor layout (private header).
//
// Each row is scattered into a dense work row w, the U rows of its L part are subtracted
// supernode by supernode, and the row is gathered back. The L part of row i holds whole
// supernodes S (exactly those whose common tail T_S contains i) and the start of i's own
// one, so rows are eliminated in pairs (i, i+1): a supernode both rows need is streamed
// once for the two of them, halving the loads of U per multiply-add. Within a supernode,
// up to four of its rows update w[c] (of one or both rows) at once, w[c] in a register.
// On small grids, whose supernodes are small, this beats forming dense fronts.
#pragma once

#include <algorithm>
#include <cmath>

#include "multifrontal.hpp"
#include "simd_dispatch.hpp"

namespace fpscore::detail {

// The tail of source rows [k, k + R) of one supernode (all of them end at column b - 1
// inside it) subtracted from the work rows w[0..T): w_t[cols[j]] −= Σ_r w_t[k + r] · U(k + r)[j].
template <int L, int R, int T>
FPSCORE_INLINE void update_tail(const double* FPSCORE_RESTRICT lu, const offset_t* diag, index_t b, index_t k,
                                const index_t* cols, offset_t len, double* const* w) {
    using Ops = LaneOps<L>;
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
    using Ops = LaneOps<L>;
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
FPSCORE_INLINE void eliminate_block(const SymbolicLU& sym, index_t a, index_t b, const double* FPSCORE_RESTRICT lu,
                                    const double* FPSCORE_RESTRICT inv_piv, double* const* w) {
    if (a >= b) return;
    const offset_t* row_ptr = sym.row_ptr().data();
    const offset_t* diag = sym.diag().data();
    eliminate_triangle<L, T>(diag, a, b, lu, inv_piv, w);
    const offset_t tail = diag[a] + (b - a);  // first tail entry of row a
    const offset_t len = row_ptr[a + 1] - tail;
    const index_t* cols = sym.cols().data() + tail;
    index_t k = a;  // four source rows per pass (their T·4 multipliers stay in registers), then 2, 1
    for (; k + 4 <= b; k += 4) update_tail<L, 4, T>(lu, diag, b, k, cols, len, w);
    if (k + 2 <= b) update_tail<L, 2, T>(lu, diag, b, k, cols, len, w), k += 2;
    if (k < b) update_tail<L, 1, T>(lu, diag, b, k, cols, len, w);
}

// Row i of A (or of the assembled values in lu) into the zero work row w; returns max_j |a_ij|.
template <int L>
FPSCORE_INLINE typename LaneOps<L>::V load_row(const SymbolicLU& sym, index_t i, const double* FPSCORE_RESTRICT lu,
                                               const double* FPSCORE_RESTRICT a_values, double* FPSCORE_RESTRICT w) {
    using Ops = LaneOps<L>;
    const index_t* cols = sym.cols().data();
    typename Ops::V norm{};
    if (a_values != nullptr) {
        // Duplicates of A add up in w; the norm is taken of the sums.
        const offset_t* a_ptr = sym.matrix_indptr().data();
        const offset_t* a_to_factor = sym.matrix_to_factor().data();
        const index_t r = sym.permutation()[i];
        for (offset_t p = a_ptr[r]; p < a_ptr[r + 1]; ++p) {
            double* wc = w + static_cast<offset_t>(cols[a_to_factor[p]]) * L;
            Ops::store(wc, Ops::load(wc) + Ops::load(a_values + p * L));
        }
        for (offset_t p = a_ptr[r]; p < a_ptr[r + 1]; ++p)
            norm = Ops::max_abs(norm, Ops::load(w + static_cast<offset_t>(cols[a_to_factor[p]]) * L));
    } else {
        const offset_t* row_ptr = sym.row_ptr().data();
        for (offset_t p = row_ptr[i]; p < row_ptr[i + 1]; ++p) {
            const auto v = Ops::load(lu + p * L);
            Ops::store(w + static_cast<offset_t>(cols[p]) * L, v);
            norm = Ops::max_abs(norm, v);
        }
    }
    return norm;
}

// Pivot test and reciprocal of row i, then w back into lu (leaving w zero).
template <int L>
FPSCORE_INLINE PivotFailure finish_row(const SymbolicLU& sym, index_t i, typename LaneOps<L>::V norm_v,
                                       double tolerance, index_t active, double* FPSCORE_RESTRICT lu,
                                       double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w) {
    using Ops = LaneOps<L>;
    const offset_t* row_ptr = sym.row_ptr().data();
    const index_t* cols = sym.cols().data();
    double norm[L];
    Ops::store(norm, norm_v);
    const double* piv = w + static_cast<offset_t>(i) * L;
    PivotFailure failure;
    for (index_t l = 0; l < active && failure.row < 0; ++l)
        if (!(std::abs(piv[l]) > tolerance * norm[l]) || !std::isfinite(piv[l])) failure = {i, l, piv[l], norm[l]};
    if (failure.row < 0) Ops::store(inv_piv + static_cast<offset_t>(i) * L, 1.0 / Ops::load(piv));
    for (offset_t p = row_ptr[i]; p < row_ptr[i + 1]; ++p) {
        double* wc = w + static_cast<offset_t>(cols[p]) * L;
        Ops::store(lu + p * L, Ops::load(wc));
        Ops::store(wc, typename Ops::V{});
    }
    return failure;
}

// Factorises into `lu` (element stride L). work (2 n · L) must be zero and is left zero.
// Each row starts from its entries in `lu`, or, when a_values is given, from A's values
// in the analysed CSR order (element stride L): then `lu` need not be initialised.
template <int L>
FPSCORE_INLINE PivotFailure rowwise_factor(const SymbolicLU& sym, double* FPSCORE_RESTRICT lu,
                                           double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT work,
                                           double tolerance, index_t active,
                                           const double* FPSCORE_RESTRICT a_values = nullptr) {
    const offset_t* row_ptr = sym.row_ptr().data();
    const offset_t* diag = sym.diag().data();
    const index_t* cols = sym.cols().data();
    const index_t* supernode_end = sym.supernode_end().data();
    const index_t n = sym.n();
    double* w0 = work;
    double* w1 = work + static_cast<offset_t>(n) * L;
    double* const pair[2] = {w0, w1};
    index_t i = 0;
    for (; i + 1 < n; i += 2) {
        const auto norm0 = load_row<L>(sym, i, lu, a_values, w0);
        const auto norm1 = load_row<L>(sym, i + 1, lu, a_values, w1);
        // Merge the two L parts by supernode. Row i+1's part in i's supernode may reach i
        // itself; that last piece waits until row i is final.
        offset_t p0 = row_ptr[i], p1 = row_ptr[i + 1];
        const offset_t e0 = diag[i], e1 = diag[i + 1];
        bool needs_row_i = false;
        while (p0 < e0 || p1 < e1) {
            const index_t a0 = p0 < e0 ? cols[p0] : n, a1 = p1 < e1 ? cols[p1] : n;
            const index_t a = std::min(a0, a1);
            const index_t b0 = std::min(supernode_end[a], i), b1 = std::min(supernode_end[a], i + 1);
            // Row i+1's block holds column i: it is row i's own supernode.
            if (a1 == a && b1 > i) needs_row_i = true;
            if (a0 == a1) {
                eliminate_block<L, 2>(sym, a, b0, lu, inv_piv, pair);
                p0 += b0 - a;
                p1 += b1 - a;
            } else if (a0 < a1) {
                eliminate_block<L, 1>(sym, a, b0, lu, inv_piv, &w0);
                p0 += b0 - a;
            } else {
                eliminate_block<L, 1>(sym, a, std::min(b1, i), lu, inv_piv, &w1);
                p1 += b1 - a;
            }
        }
        if (const PivotFailure f = finish_row<L>(sym, i, norm0, tolerance, active, lu, inv_piv, w0); f.row >= 0) {
            for (offset_t p = row_ptr[i + 1]; p < row_ptr[i + 2]; ++p)  // leave the work rows zero
                LaneOps<L>::store(w1 + static_cast<offset_t>(cols[p]) * L, typename LaneOps<L>::V{});
            return f;
        }
        if (needs_row_i) eliminate_block<L, 1>(sym, i, i + 1, lu, inv_piv, &w1);
        if (const PivotFailure f = finish_row<L>(sym, i + 1, norm1, tolerance, active, lu, inv_piv, w1); f.row >= 0)
            return f;
    }
    if (i < n) {  // the last row of an odd count
        const auto norm = load_row<L>(sym, i, lu, a_values, w0);
        for (offset_t p = row_ptr[i]; p < diag[i];) {
            const index_t a = cols[p], b = std::min(supernode_end[a], i);
            eliminate_block<L, 1>(sym, a, b, lu, inv_piv, &w0);
            p += b - a;
        }
        return finish_row<L>(sym, i, norm, tolerance, active, lu, inv_piv, w0);
    }
    return {};
}

}  // namespace fpscore::detail
