// Multifrontal numeric LU on the row-wise factor layout (private header).
//
// For each supernode J (ascending: children first) the dense front F over I_J = J ∪ T_J
// is worked on in place: its rows J are the factor's rows of J (from column j0 on, f
// contiguous entries), its columns J of the rows T_J are the factor's L panel of J, and
// only the trailing T_J × T_J block F22 lives in a workspace. The children's Schur
// complements are added in (extend-add), the first |J| pivots are eliminated with dense
// kernels, and F22 is kept for the parent. Every element is a SIMD vector of the L
// interleaved matrices (lanes) of a pack.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "sparse/numeric/front_assembly.hpp"
#include "sparse/symbolic/symbolic_plan.hpp"
#include "common/simd_dispatch.hpp"

namespace fpscore::detail {

// dst[0..count) = src[0..count) in elements of L doubles, inline (the counts are small and
// many: a library call per row would cost more than the copy).
template <int L>
FPSCORE_INLINE void copy_lanes(const double* FPSCORE_RESTRICT src, index_t count, double* FPSCORE_RESTRICT dst) {
    for (index_t e = 0; e < count; ++e) VectorOps<L>::store(dst + static_cast<offset_t>(e) * L, VectorOps<L>::load(src + static_cast<offset_t>(e) * L));
}

struct FrontWorkspace {
    double* front;   // max_front² · L: F22 of the current front
    double* arena;   // arena · L
    double* norms;   // n · L: max |a_ij| of each row, per lane
    double** rows;   // 2 · max_front row pointers
};

// Outcome of a factorisation: row < 0 on success, else the failing elimination step and lane.
struct PivotFailure {
    index_t row = -1;
    index_t lane = 0;
    double pivot = 0.0;
    double norm = 0.0;
};

// Static pivoting's test: a pivot is usable when finite and |pivot| > tolerance · max_j |a_ij|.
FPSCORE_INLINE bool usable_pivot(double pivot, double norm, double tolerance) {
    return std::abs(pivot) > tolerance * norm && std::isfinite(pivot);
}

// A block of the trailing update, C −= L·U: target row a (in [r0, r1)), column j (in
// [0, width)) at tgt[a] + j; its multipliers l(a, k) at lrow[a] + k; U(k, j) at urow[k] + j
// (positions in elements of L doubles; k in [k0, k1)).
struct UpdateBlock {
    double* const* tgt;
    const double* const* lrow;
    const double* const* urow;
    offset_t tgt_col, u_col;  // element offsets added to tgt[a] and urow[k]
    index_t r0, r1, width, k0, k1;
};

// The multipliers l(a, k) of L lanes as an 8-wide register: two copies of four lanes', or
// eight lanes'.
template <int L>
FPSCORE_INLINE SimdVector<8>::type broadcast_multiplier(const double* l) {
    static_assert(L == 4 || L == 8, "dense fronts run on packs of 4 or 8 lanes");
    if constexpr (L == 4) {
        const SimdVector<4>::type l4 = load_vector<4>(l);
        return __builtin_shufflevector(l4, l4, 0, 1, 2, 3, 0, 1, 2, 3);
    } else {
        return load_vector<8>(l);
    }
}

// With AVX-512 (32 registers): rows [r0, r0 + 4q), four at a time, each holding kVectors
// 8-wide accumulators (8 / L columns each) over the whole k loop, then the columns left
// over. Returns the first row not done; the caller finishes the rest.
template <int L>
FPSCORE_INLINE index_t register_block_update(const UpdateBlock& u) {
    using V8 = SimdVector<8>::type;
    using Ops = VectorOps<L>;
    constexpr index_t kRows = 4, kVectors = 4, kPerVector = 8 / L, kCols = kVectors * kPerVector;
    const index_t width = u.width / kCols * kCols;
    index_t a = u.r0;
    for (; a + kRows <= u.r1; a += kRows) {
        double* c_row[kRows];
        const double* l_row[kRows];
        for (index_t r = 0; r < kRows; ++r) {
            c_row[r] = u.tgt[a + r] + u.tgt_col * L;
            l_row[r] = u.lrow[a + r];
        }
        for (index_t b = 0; b < width; b += kCols) {
            V8 c[kRows][kVectors];
            for (index_t r = 0; r < kRows; ++r)
                for (index_t q = 0; q < kVectors; ++q) c[r][q] = load_vector<8>(c_row[r] + (b + q * kPerVector) * L);
            for (index_t k = u.k0; k < u.k1; ++k) {
                const double* ur = u.urow[k] + (u.u_col + b) * L;
                V8 v[kVectors];
                for (index_t q = 0; q < kVectors; ++q) v[q] = load_vector<8>(ur + q * 8);
                for (index_t r = 0; r < kRows; ++r) {
                    const V8 l = broadcast_multiplier<L>(l_row[r] + static_cast<offset_t>(k) * L);
                    for (index_t q = 0; q < kVectors; ++q) c[r][q] -= l * v[q];
                }
            }
            for (index_t r = 0; r < kRows; ++r)
                for (index_t q = 0; q < kVectors; ++q) store_vector<8>(c_row[r] + (b + q * kPerVector) * L, c[r][q]);
        }
        for (index_t r = 0; r < kRows; ++r)  // columns past the blocks, for these rows
            for (index_t k = u.k0; k < u.k1; ++k) {
                const auto l = Ops::load(l_row[r] + static_cast<offset_t>(k) * L);
                const double* uk = u.urow[k] + u.u_col * L;
                for (index_t b = width; b < u.width; ++b)
                    Ops::store(c_row[r] + b * L, Ops::load(c_row[r] + b * L) - l * Ops::load(uk + b * L));
            }
    }
    return a;
}

template <int L>
FPSCORE_INLINE void update_block(const UpdateBlock& u) {
    using Ops = VectorOps<L>;
    using V = typename Ops::V;
    if (u.width <= 0 || u.k0 >= u.k1) return;
    auto c_at = [&](index_t a, index_t j) FPSCORE_INLINE_LAMBDA { return u.tgt[a] + (u.tgt_col + j) * L; };
    auto l_at = [&](index_t a, index_t k) FPSCORE_INLINE_LAMBDA { return u.lrow[a] + static_cast<offset_t>(k) * L; };
    auto u_at = [&](index_t k, index_t j) FPSCORE_INLINE_LAMBDA { return u.urow[k] + (u.u_col + j) * L; };
    static_assert(L == 4 || L == 8, "dense fronts run on packs of 4 or 8 lanes");
    index_t a = u.r0;
    // With AVX-512, 16 full-width accumulators (for four lanes, two neighbouring columns
    // fill one register).
    if (has_wide_registers()) a = register_block_update<L>(u);
    // 2 × 4 blocks of the result stay in registers over the whole k loop.
    for (; a + 2 <= u.r1; a += 2) {
        index_t b = 0;
        for (; b + 4 <= u.width; b += 4) {
            V c0[4], c1[4];
            for (int q = 0; q < 4; ++q) c0[q] = Ops::load(c_at(a, b + q)), c1[q] = Ops::load(c_at(a + 1, b + q));
            for (index_t k = u.k0; k < u.k1; ++k) {
                const V l0 = Ops::load(l_at(a, k)), l1 = Ops::load(l_at(a + 1, k));
                const double* ur = u_at(k, b);
                for (int q = 0; q < 4; ++q) {
                    const V v = Ops::load(ur + q * L);
                    c0[q] -= l0 * v;
                    c1[q] -= l1 * v;
                }
            }
            for (int q = 0; q < 4; ++q) Ops::store(c_at(a, b + q), c0[q]), Ops::store(c_at(a + 1, b + q), c1[q]);
        }
        for (; b < u.width; ++b) {
            V c0 = Ops::load(c_at(a, b)), c1 = Ops::load(c_at(a + 1, b));
            for (index_t k = u.k0; k < u.k1; ++k) {
                const V v = Ops::load(u_at(k, b));
                c0 -= Ops::load(l_at(a, k)) * v;
                c1 -= Ops::load(l_at(a + 1, k)) * v;
            }
            Ops::store(c_at(a, b), c0), Ops::store(c_at(a + 1, b), c1);
        }
    }
    for (; a < u.r1; ++a)
        for (index_t b = 0; b < u.width; ++b) {
            V c = Ops::load(c_at(a, b));
            for (index_t k = u.k0; k < u.k1; ++k) c -= Ops::load(l_at(a, k)) * Ops::load(u_at(k, b));
            Ops::store(c_at(a, b), c);
        }
}

// Factorises into `lu` (layout of `sym`, element stride L; need not be initialised). Each
// front starts from A's values (analysed CSR order, element stride L) placed by `assembly`.
// inv_piv (n · L) receives the reciprocal pivots. Lanes >= active are not checked. Returns
// the first failing pivot, if any.
template <int L>
FPSCORE_INLINE PivotFailure multifrontal_factor(const SymbolicPlan& sym, double* FPSCORE_RESTRICT lu,
                                                double* FPSCORE_RESTRICT inv_piv, const FrontWorkspace& ws,
                                                double tolerance, index_t active,
                                                const double* FPSCORE_RESTRICT a_values,
                                                const FrontAssembly& assembly) {
    using Ops = VectorOps<L>;
    using V = typename Ops::V;
    const FrontalPlan& plan = sym.frontal;
    const offset_t* diag = sym.diag.data();
    const index_t n = sym.n;

    // Row norms of A, for the pivot test (over the stored entries of A; fill is zero).
    const index_t* perm = sym.perm.data();
    const offset_t* a_ptr = sym.matrix_indptr.data();
    for (index_t i = 0; i < n; ++i) {
        V m{};
        for (offset_t p = a_ptr[perm[i]]; p < a_ptr[perm[i] + 1]; ++p) m = Ops::max_abs(m, Ops::load(a_values + p * L));
        Ops::store(ws.norms + static_cast<offset_t>(i) * L, m);
    }

    for (index_t J = 0; J < plan.supernodes; ++J) {
        const index_t j0 = plan.start[J], s = plan.start[J + 1] - j0, t = plan.tail[J], f = s + t;
        // Row i of the front: columns [0, s) from left[i] (all f columns for i < s), columns
        // [s, f) from right[i].
        double** left = ws.rows;
        double** right = ws.rows + f;
        double* F22 = ws.front;
        const offset_t* lpanel = plan.lpanel.data() + plan.tail_ptr[J];
        for (index_t q = 0; q < s; ++q) {
            left[q] = lu + (diag[j0 + q] - q) * L;
            right[q] = left[q] + static_cast<offset_t>(s) * L;
        }
        for (index_t a = 0; a < t; ++a) {
            left[s + a] = lu + lpanel[a] * L;
            right[s + a] = F22 + static_cast<offset_t>(a) * t * L;
        }
        std::fill_n(F22, static_cast<offset_t>(t) * t * L, 0.0);
        for (index_t q = 0; q < s; ++q) std::fill_n(left[q], static_cast<offset_t>(f) * L, 0.0);
        for (index_t a = 0; a < t; ++a) std::fill_n(left[s + a], static_cast<offset_t>(s) * L, 0.0);
        for (offset_t e = assembly.ptr[J]; e < assembly.ptr[J + 1]; ++e) {
            double* dst = left[assembly.row[e]] + static_cast<offset_t>(assembly.col[e]) * L;
            Ops::store(dst, Ops::load(dst) + Ops::load(a_values + assembly.entry[e] * L));
        }
        // Extend-add the children's Schur complements (rel ascends: columns in J come first).
        for (offset_t c = plan.child_ptr[J]; c < plan.child_ptr[J + 1]; ++c) {
            const index_t C = plan.child[c], tc = plan.tail[C];
            const index_t* rel = plan.relative.data() + plan.tail_ptr[C];
            const index_t split = static_cast<index_t>(std::lower_bound(rel, rel + tc, s) - rel);
            const double* U = ws.arena + plan.update_at[C] * L;
            for (index_t a = 0; a < tc; ++a) {
                const index_t r = rel[a];
                const double* src = U + static_cast<offset_t>(a) * tc * L;
                for (index_t b = 0; b < split; ++b) {
                    double* dst = left[r] + static_cast<offset_t>(rel[b]) * L;
                    Ops::store(dst, Ops::load(dst) + Ops::load(src + static_cast<offset_t>(b) * L));
                }
                for (index_t b = split; b < tc; ++b) {
                    double* dst = right[r] + static_cast<offset_t>(rel[b] - s) * L;
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
                double* pk = left[k] + static_cast<offset_t>(k) * L;
                const V pivot = Ops::load(pk);
                for (index_t l = 0; l < active; ++l) {
                    const double p = pk[l];
                    const double norm = ws.norms[static_cast<offset_t>(j0 + k) * L + l];
                    if (!usable_pivot(p, norm, tolerance)) return {j0 + k, l, p, norm};
                }
                const V inv = 1.0 / pivot;
                Ops::store(inv_piv + static_cast<offset_t>(j0 + k) * L, inv);
                const double* FPSCORE_RESTRICT src = left[k];
                for (index_t i = k + 1; i < f; ++i) {
                    double* FPSCORE_RESTRICT dst = left[i];
                    const V l = Ops::load(dst + static_cast<offset_t>(k) * L) * inv;
                    Ops::store(dst + static_cast<offset_t>(k) * L, l);
                    for (index_t j = k + 1; j < ke; ++j)
                        Ops::store(dst + j * L, Ops::load(dst + j * L) - l * Ops::load(src + j * L));
                }
            }
            // Rows kb..ke-1 of U beyond the panel: forward substitution with the panel's L.
            for (index_t r = kb + 1; r < ke; ++r)
                for (index_t k = kb; k < r; ++k) {
                    double* FPSCORE_RESTRICT dst = left[r];
                    const double* FPSCORE_RESTRICT src = left[k];
                    const V l = Ops::load(dst + static_cast<offset_t>(k) * L);
                    for (index_t j = ke; j < f; ++j)
                        Ops::store(dst + j * L, Ops::load(dst + j * L) - l * Ops::load(src + j * L));
                }
            // The trailing rows, columns [ke, s) (in left) then [s, f) (in right).
            update_block<L>({left, left, left, ke, ke, ke, f, s - ke, kb, ke});
            update_block<L>({right, left, left, 0, s, ke, f, t, kb, ke});
        }
        // Keep the Schur complement for the parent.
        copy_lanes<L>(F22, t * t, ws.arena + plan.update_at[J] * L);
    }
    return {};
}

}  // namespace fpscore::detail
