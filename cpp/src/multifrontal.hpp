// Multifrontal numeric LU on the row-wise factor layout (private header).
//
// For each supernode J (ascending: children first) a dense front F over I_J = J ∪ T_J is
// gathered from the factor values (rows J; columns J of the rows T_J), the children's
// Schur complements are added in (extend-add), the first |J| pivots are eliminated with
// dense kernels, the factor parts are written back and F's trailing T_J × T_J block is
// kept for the parent. Every element is a `Lane` value: a double (one matrix) or a SIMD
// vector of interleaved matrices; the kernels are the same.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "front_assembly.hpp"
#include "fpscore/sparse_lu.hpp"
#include "simd_dispatch.hpp"

namespace fpscore::detail {

// dst[0..count) = src[0..count) in elements of L doubles, inline (the counts are small and
// many: a library call per row would cost more than the copy).
template <int L>
FPSCORE_INLINE void copy_lanes(const double* FPSCORE_RESTRICT src, index_t count, double* FPSCORE_RESTRICT dst) {
    for (index_t e = 0; e < count; ++e) LaneOps<L>::store(dst + static_cast<offset_t>(e) * L, LaneOps<L>::load(src + static_cast<offset_t>(e) * L));
}

struct FrontWorkspace {
    double* front;   // max_front² · L
    double* arena;   // arena · L
    double* norms;   // n · L: max |a_ij| of each row, per lane
};

// Outcome of a factorisation: row < 0 on success, else the failing elimination step and lane.
struct PivotFailure {
    index_t row = -1;
    index_t lane = 0;
    double pivot = 0.0;
    double norm = 0.0;
};

// True when the CPU has 512-bit vector registers (AVX-512), checked once.
inline bool has_wide_registers() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static const bool wide = __builtin_cpu_supports("avx512f");
    return wide;
#else
    return false;
#endif
}

// The trailing update for four lanes on rows [r0, r0 + 4q) and columns [c0, c0 + 8p), four
// rows by eight columns at a time, each pair of columns one 8-wide register. Returns the
// first row not done; the caller finishes the rest and any columns left over.
FPSCORE_INLINE index_t paired_column_update(double* FPSCORE_RESTRICT F, index_t f, index_t r0, index_t c0, index_t k0,
                                            index_t k1) {
    using V4 = LaneVector<4>::type;
    using V8 = LaneVector<8>::type;
    constexpr index_t kRows = 4, kPairs = 4;
    const offset_t ld = static_cast<offset_t>(f) * 4;
    auto at = [&](index_t i, index_t j) { return F + i * ld + static_cast<offset_t>(j) * 4; };
    const index_t width = (f - c0) / (2 * kPairs) * (2 * kPairs);
    if (width == 0) return r0;
    index_t a = r0;
    for (; a + kRows <= f; a += kRows) {
        for (index_t b = c0; b < c0 + width; b += 2 * kPairs) {
            V8 c[kRows][kPairs];
            for (index_t r = 0; r < kRows; ++r)
                for (index_t q = 0; q < kPairs; ++q) c[r][q] = load_lanes<8>(at(a + r, b + 2 * q));
            for (index_t k = k0; k < k1; ++k) {
                V8 u[kPairs];
                for (index_t q = 0; q < kPairs; ++q) u[q] = load_lanes<8>(at(k, b + 2 * q));
                for (index_t r = 0; r < kRows; ++r) {
                    const V4 l4 = load_lanes<4>(at(a + r, k));
                    const V8 l = __builtin_shufflevector(l4, l4, 0, 1, 2, 3, 0, 1, 2, 3);
                    for (index_t q = 0; q < kPairs; ++q) c[r][q] -= l * u[q];
                }
            }
            for (index_t r = 0; r < kRows; ++r)
                for (index_t q = 0; q < kPairs; ++q) store_lanes<8>(at(a + r, b + 2 * q), c[r][q]);
        }
        // Columns past the paired block, for these rows.
        for (index_t r = 0; r < kRows; ++r)
            for (index_t b = c0 + width; b < f; ++b) {
                V4 acc = load_lanes<4>(at(a + r, b));
                for (index_t k = k0; k < k1; ++k) acc -= load_lanes<4>(at(a + r, k)) * load_lanes<4>(at(k, b));
                store_lanes<4>(at(a + r, b), acc);
            }
    }
    return a;
}

// F[r, c] −= Σ_{k0 <= k < k1} F[r, k] F[k, c] for r in [r0, f), c in [c0, f): the trailing update
// of a blocked LU, on a row-major front of order f (element stride L).
template <int L>
FPSCORE_INLINE void trailing_update(double* FPSCORE_RESTRICT F, index_t f, index_t r0, index_t c0, index_t k0,
                                    index_t k1) {
    using Ops = LaneOps<L>;
    using V = typename Ops::V;
    const offset_t ld = static_cast<offset_t>(f) * L;
    auto at = [&](index_t i, index_t j) { return F + i * ld + static_cast<offset_t>(j) * L; };
    if constexpr (L == 1) {
        // Rows are contiguous: vectorise along them, four k at a time.
        const index_t width = f - c0;
        for (index_t a = r0; a < f; ++a) {
            double* FPSCORE_RESTRICT c = at(a, c0);
            index_t k = k0;
            for (; k + 4 <= k1; k += 4) {
                const double l0 = *at(a, k), l1 = *at(a, k + 1), l2 = *at(a, k + 2), l3 = *at(a, k + 3);
                const double* FPSCORE_RESTRICT u0 = at(k, c0);
                const double* FPSCORE_RESTRICT u1 = at(k + 1, c0);
                const double* FPSCORE_RESTRICT u2 = at(k + 2, c0);
                const double* FPSCORE_RESTRICT u3 = at(k + 3, c0);
                for (index_t b = 0; b < width; ++b) c[b] -= (l0 * u0[b] + l1 * u1[b]) + (l2 * u2[b] + l3 * u3[b]);
            }
            for (; k < k1; ++k) {
                const double lk = *at(a, k);
                const double* FPSCORE_RESTRICT u = at(k, c0);
                for (index_t b = 0; b < width; ++b) c[b] -= lk * u[b];
            }
        }
    } else {
        index_t a = r0;
        if constexpr (L == 4) {
            // Two neighbouring columns of four lanes fill one 8-wide register: with AVX-512 the
            // 4 × 8 blocks of the result are 16 full-width accumulators.
            if (has_wide_registers()) a = paired_column_update(F, f, r0, c0, k0, k1);
        }
        // 2 × 4 blocks of the result stay in registers over the whole k loop.
        for (; a + 2 <= f; a += 2) {
            index_t b = c0;
            for (; b + 4 <= f; b += 4) {
                V c00 = Ops::load(at(a, b)), c01 = Ops::load(at(a, b + 1)), c02 = Ops::load(at(a, b + 2)),
                  c03 = Ops::load(at(a, b + 3));
                V c10 = Ops::load(at(a + 1, b)), c11 = Ops::load(at(a + 1, b + 1)), c12 = Ops::load(at(a + 1, b + 2)),
                  c13 = Ops::load(at(a + 1, b + 3));
                for (index_t k = k0; k < k1; ++k) {
                    const V l0 = Ops::load(at(a, k)), l1 = Ops::load(at(a + 1, k));
                    const double* u = at(k, b);
                    const V u0 = Ops::load(u), u1 = Ops::load(u + L), u2 = Ops::load(u + 2 * L), u3 = Ops::load(u + 3 * L);
                    c00 -= l0 * u0, c01 -= l0 * u1, c02 -= l0 * u2, c03 -= l0 * u3;
                    c10 -= l1 * u0, c11 -= l1 * u1, c12 -= l1 * u2, c13 -= l1 * u3;
                }
                Ops::store(at(a, b), c00), Ops::store(at(a, b + 1), c01), Ops::store(at(a, b + 2), c02),
                    Ops::store(at(a, b + 3), c03);
                Ops::store(at(a + 1, b), c10), Ops::store(at(a + 1, b + 1), c11), Ops::store(at(a + 1, b + 2), c12),
                    Ops::store(at(a + 1, b + 3), c13);
            }
            for (; b < f; ++b) {
                V c0v = Ops::load(at(a, b)), c1v = Ops::load(at(a + 1, b));
                for (index_t k = k0; k < k1; ++k) {
                    const V u = Ops::load(at(k, b));
                    c0v -= Ops::load(at(a, k)) * u;
                    c1v -= Ops::load(at(a + 1, k)) * u;
                }
                Ops::store(at(a, b), c0v), Ops::store(at(a + 1, b), c1v);
            }
        }
        for (; a < f; ++a)
            for (index_t b = c0; b < f; ++b) {
                V c = Ops::load(at(a, b));
                for (index_t k = k0; k < k1; ++k) c -= Ops::load(at(a, k)) * Ops::load(at(k, b));
                Ops::store(at(a, b), c);
            }
    }
}

// Factorises into `lu` (layout of `sym`, element stride L). Each front starts from A's
// values (analysed CSR order, element stride L) placed by `assembly` when a_values is
// given, and then `lu` need not be initialised; otherwise from the values in `lu`. inv_piv
// (n · L, may be null for L = 1) receives the reciprocal pivots. Lanes >= active are not
// checked. Returns the first failing pivot, if any.
template <int L>
FPSCORE_INLINE PivotFailure multifrontal_factor(const SymbolicLU& sym, double* FPSCORE_RESTRICT lu,
                                                double* FPSCORE_RESTRICT inv_piv, const FrontWorkspace& ws,
                                                double tolerance, index_t active,
                                                const double* FPSCORE_RESTRICT a_values = nullptr,
                                                const FrontAssembly* assembly = nullptr) {
    using Ops = LaneOps<L>;
    using V = typename Ops::V;
    const FrontalPlan& plan = sym.frontal();
    const offset_t* row_ptr = sym.row_ptr().data();
    const offset_t* diag = sym.diag().data();
    const index_t n = sym.n();

    // Row norms of A, for the pivot test (over the stored entries of A; fill is zero).
    if (a_values != nullptr) {
        const index_t* perm = sym.permutation().data();
        const offset_t* a_ptr = sym.matrix_indptr().data();
        for (index_t i = 0; i < n; ++i) {
            V m{};
            for (offset_t p = a_ptr[perm[i]]; p < a_ptr[perm[i] + 1]; ++p) m = Ops::max_abs(m, Ops::load(a_values + p * L));
            Ops::store(ws.norms + static_cast<offset_t>(i) * L, m);
        }
    } else {
        for (index_t i = 0; i < n; ++i) {
            V m{};
            for (offset_t p = row_ptr[i]; p < row_ptr[i + 1]; ++p) m = Ops::max_abs(m, Ops::load(lu + p * L));
            Ops::store(ws.norms + static_cast<offset_t>(i) * L, m);
        }
    }

    for (index_t J = 0; J < plan.supernodes; ++J) {
        const index_t j0 = plan.start[J], s = plan.start[J + 1] - j0, t = plan.tail[J], f = s + t;
        const offset_t ld = static_cast<offset_t>(f) * L;
        double* F = ws.front;
        const offset_t* lpanel = plan.lpanel.data() + plan.tail_ptr[J];
        if (a_values != nullptr) {
            std::fill_n(F, f * ld, 0.0);
            for (offset_t e = assembly->ptr[J]; e < assembly->ptr[J + 1]; ++e) {
                double* dst = F + assembly->offset[e] * L;
                Ops::store(dst, Ops::load(dst) + Ops::load(a_values + assembly->entry[e] * L));
            }
        } else {
            // Rows of J from column j0 on are exactly I_J; rows T_J hold columns J contiguously;
            // the T_J × T_J block starts at zero.
            for (index_t q = 0; q < s; ++q) copy_lanes<L>(lu + (diag[j0 + q] - q) * L, f, F + q * ld);
            for (index_t a = 0; a < t; ++a) {
                double* row = F + (s + a) * ld;
                copy_lanes<L>(lu + lpanel[a] * L, s, row);
                std::fill_n(row + static_cast<offset_t>(s) * L, static_cast<offset_t>(t) * L, 0.0);
            }
        }
        // Extend-add the children's Schur complements.
        for (offset_t c = plan.child_ptr[J]; c < plan.child_ptr[J + 1]; ++c) {
            const index_t C = plan.child[c], tc = plan.tail[C];
            const index_t* rel = plan.relative.data() + plan.tail_ptr[C];
            const double* U = ws.arena + plan.update_at[C] * L;
            for (index_t a = 0; a < tc; ++a) {
                double* row = F + rel[a] * ld;
                const double* src = U + static_cast<offset_t>(a) * tc * L;
                for (index_t b = 0; b < tc; ++b) {
                    double* dst = row + static_cast<offset_t>(rel[b]) * L;
                    Ops::store(dst, Ops::load(dst) + Ops::load(src + static_cast<offset_t>(b) * L));
                }
            }
        }
        // Blocked right-looking elimination of the s pivots; the trailing updates also form
        // the Schur complement F22 = F22 − F21 F12 for the parent.
        constexpr index_t kBlock = 16;
        for (index_t kb = 0; kb < s; kb += kBlock) {
            const index_t ke = std::min<index_t>(kb + kBlock, s);
            for (index_t k = kb; k < ke; ++k) {  // the panel: columns kb..ke-1, rows below k
                double* pk = F + k * ld + static_cast<offset_t>(k) * L;
                const V pivot = Ops::load(pk);
                for (index_t l = 0; l < active; ++l) {
                    const double p = pk[L == 1 ? 0 : l];
                    const double norm = ws.norms[static_cast<offset_t>(j0 + k) * L + l];
                    if (!(std::abs(p) > tolerance * norm) || !std::isfinite(p)) return {j0 + k, l, p, norm};
                }
                const V inv = 1.0 / pivot;
                if (inv_piv != nullptr) Ops::store(inv_piv + static_cast<offset_t>(j0 + k) * L, inv);
                const double* FPSCORE_RESTRICT src = F + k * ld;
                for (index_t i = k + 1; i < f; ++i) {
                    double* FPSCORE_RESTRICT dst = F + i * ld;
                    const V l = Ops::load(dst + static_cast<offset_t>(k) * L) * inv;
                    Ops::store(dst + static_cast<offset_t>(k) * L, l);
                    for (index_t j = k + 1; j < ke; ++j)
                        Ops::store(dst + j * L, Ops::load(dst + j * L) - l * Ops::load(src + j * L));
                }
            }
            // Rows kb..ke-1 of U beyond the panel: forward substitution with the panel's L.
            for (index_t r = kb + 1; r < ke; ++r)
                for (index_t k = kb; k < r; ++k) {
                    double* FPSCORE_RESTRICT dst = F + r * ld;
                    const double* FPSCORE_RESTRICT src = F + k * ld;
                    const V l = Ops::load(dst + static_cast<offset_t>(k) * L);
                    for (index_t j = ke; j < f; ++j)
                        Ops::store(dst + j * L, Ops::load(dst + j * L) - l * Ops::load(src + j * L));
                }
            if (ke < f) trailing_update<L>(F, f, ke, ke, kb, ke);
        }
        // Write the factor back and keep the Schur complement for the parent.
        for (index_t q = 0; q < s; ++q) copy_lanes<L>(F + q * ld, f, lu + (diag[j0 + q] - q) * L);
        for (index_t a = 0; a < t; ++a) copy_lanes<L>(F + (s + a) * ld, s, lu + lpanel[a] * L);
        double* U = ws.arena + plan.update_at[J] * L;
        for (index_t a = 0; a < t; ++a)
            copy_lanes<L>(F + (s + a) * ld + static_cast<offset_t>(s) * L, t, U + static_cast<offset_t>(a) * t * L);
    }
    return {};
}

}  // namespace fpscore::detail
