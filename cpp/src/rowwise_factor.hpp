// Row-by-row ("IKJ") numeric LU on the row-wise factor layout (private header).
//
// Row i is scattered into a dense work row w, the U rows of its L part are subtracted
// supernode by supernode (a supernode's rows share their tail, so up to eight of them
// update w[c] at once with w[c] in a register), and the row is gathered back. On small
// grids, whose supernodes are small, this beats forming dense fronts.
#pragma once

#include <algorithm>
#include <cmath>

#include "multifrontal.hpp"
#include "simd_dispatch.hpp"

namespace fpscore::detail {

// w[cols[j]] −= Σ_r w[k + r] · U(k + r)[tail j] for R consecutive rows of one supernode
// (their tails coincide), with w[cols[j]] read and written once per j.
template <int L, int R>
FPSCORE_INLINE void update_tail(const double* FPSCORE_RESTRICT lu, const offset_t* diag, index_t b, index_t k,
                                const index_t* cols, offset_t len, double* FPSCORE_RESTRICT w) {
    using Ops = LaneOps<L>;
    using V = typename Ops::V;
    V l[R];
    const double* u[R];
    for (int r = 0; r < R; ++r) {
        l[r] = Ops::load(w + static_cast<offset_t>(k + r) * L);
        u[r] = lu + (diag[k + r] + (b - k - r)) * L;
    }
    for (offset_t j = 0; j < len; ++j) {
        double* wc = w + static_cast<offset_t>(cols[j]) * L;
        const offset_t o = j * L;
        V x = l[0] * Ops::load(u[0] + o);
        if constexpr (R >= 2) x += l[1] * Ops::load(u[1] + o);
        if constexpr (R >= 4) x += l[2] * Ops::load(u[2] + o) + l[3] * Ops::load(u[3] + o);
        if constexpr (R >= 8) {
            const V y = (l[4] * Ops::load(u[4] + o) + l[5] * Ops::load(u[5] + o)) +
                        (l[6] * Ops::load(u[6] + o) + l[7] * Ops::load(u[7] + o));
            x += y;
        }
        Ops::store(wc, Ops::load(wc) - x);
    }
}

template <int L>
FPSCORE_INLINE void eliminate_block(const SymbolicLU& sym, index_t a, index_t b, const double* FPSCORE_RESTRICT lu,
                                    const double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w) {
    using Ops = LaneOps<L>;
    using V = typename Ops::V;
    const offset_t* row_ptr = sym.row_ptr().data();
    const offset_t* diag = sym.diag().data();
    auto wv = [&](index_t c) { return w + static_cast<offset_t>(c) * L; };
    for (index_t k = a; k < b; ++k) {  // the dense triangle inside the block
        const V lk = Ops::load(wv(k)) * Ops::load(inv_piv + static_cast<offset_t>(k) * L);
        Ops::store(wv(k), lk);
        const double* u = lu + (diag[k] + 1) * L;  // U(k) starts with k+1, ..., b-1
        for (index_t c = k + 1; c < b; ++c)
            Ops::store(wv(c), Ops::load(wv(c)) - lk * Ops::load(u + static_cast<offset_t>(c - k - 1) * L));
    }
    const offset_t tail = diag[a] + (b - a);  // first tail entry of row a
    const offset_t len = row_ptr[a + 1] - tail;
    const index_t* cols = sym.cols().data() + tail;
    index_t k = a;
    for (; k + 8 <= b; k += 8) update_tail<L, 8>(lu, diag, b, k, cols, len, w);
    if (k + 4 <= b) update_tail<L, 4>(lu, diag, b, k, cols, len, w), k += 4;
    if (k + 2 <= b) update_tail<L, 2>(lu, diag, b, k, cols, len, w), k += 2;
    if (k < b) update_tail<L, 1>(lu, diag, b, k, cols, len, w);
}

// Factorises `lu` (element stride L); w (n · L) must be zero and is left zero. Each row
// starts from its entries in `lu`, or, when a_values is given, from A's values in the
// analysed CSR order (element stride L): then `lu` need not be initialised at all.
template <int L>
FPSCORE_INLINE PivotFailure rowwise_factor(const SymbolicLU& sym, double* FPSCORE_RESTRICT lu,
                                           double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w,
                                           double tolerance, index_t active,
                                           const double* FPSCORE_RESTRICT a_values = nullptr) {
    using Ops = LaneOps<L>;
    const offset_t* row_ptr = sym.row_ptr().data();
    const offset_t* diag = sym.diag().data();
    const index_t* cols = sym.cols().data();
    const index_t* supernode_end = sym.supernode_end().data();
    const index_t* perm = sym.permutation().data();
    const offset_t* a_ptr = sym.matrix_indptr().data();
    const offset_t* a_to_factor = sym.matrix_to_factor().data();
    for (index_t i = 0; i < sym.n(); ++i) {
        const offset_t begin = row_ptr[i], mid = diag[i], end = row_ptr[i + 1];
        typename Ops::V norm_v{};
        if (a_values != nullptr) {
            // Duplicates of A add up in w; the norm is taken of the sums.
            const index_t r = perm[i];
            for (offset_t p = a_ptr[r]; p < a_ptr[r + 1]; ++p) {
                double* wc = w + static_cast<offset_t>(cols[a_to_factor[p]]) * L;
                Ops::store(wc, Ops::load(wc) + Ops::load(a_values + p * L));
            }
            for (offset_t p = a_ptr[r]; p < a_ptr[r + 1]; ++p)
                norm_v = Ops::max_abs(norm_v, Ops::load(w + static_cast<offset_t>(cols[a_to_factor[p]]) * L));
        } else {
            for (offset_t p = begin; p < end; ++p) {
                const auto v = Ops::load(lu + p * L);
                Ops::store(w + static_cast<offset_t>(cols[p]) * L, v);
                norm_v = Ops::max_abs(norm_v, v);
            }
        }
        double norm[L];
        Ops::store(norm, norm_v);
        for (offset_t p = begin; p < mid;) {  // whole supernodes, then the start of i's own one
            const index_t a = cols[p];
            const index_t b = std::min(supernode_end[a], i);
            eliminate_block<L>(sym, a, b, lu, inv_piv, w);
            p += b - a;
        }
        const double* piv = w + static_cast<offset_t>(i) * L;
        PivotFailure failure;
        for (index_t l = 0; l < active && failure.row < 0; ++l)
            if (!(std::abs(piv[l]) > tolerance * norm[l]) || !std::isfinite(piv[l])) failure = {i, l, piv[l], norm[l]};
        if (failure.row < 0) Ops::store(inv_piv + static_cast<offset_t>(i) * L, 1.0 / Ops::load(piv));
        for (offset_t p = begin; p < end; ++p) {
            double* wc = w + static_cast<offset_t>(cols[p]) * L;
            Ops::store(lu + p * L, Ops::load(wc));
            Ops::store(wc, typename Ops::V{});
        }
        if (failure.row >= 0) return failure;
    }
    return {};
}

}  // namespace fpscore::detail
