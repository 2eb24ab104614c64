// Interleaving eight arrays into one (entry p of array l at p · 8 + l) and back, eight by
// eight entries through an in-register transpose (private header): the plain loop stores
// or loads one double at a time with a stride of eight.
#pragma once

#include "fpscore/sparse/csr.hpp"
#include "common/simd_dispatch.hpp"

namespace fpscore::detail {

using Vector8 = SimdVector<8>::type;

// r[j][l] ← r[l][j] (three rounds of shuffles).
FPSCORE_INLINE void transpose8(Vector8 (&r)[8]) {
    Vector8 t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = __builtin_shufflevector(r[k], r[k + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        t[k + 1] = __builtin_shufflevector(r[k], r[k + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    }
    for (int b = 0; b < 8; b += 4) {
        u[b] = __builtin_shufflevector(t[b], t[b + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[b + 1] = __builtin_shufflevector(t[b + 1], t[b + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[b + 2] = __builtin_shufflevector(t[b], t[b + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[b + 3] = __builtin_shufflevector(t[b + 1], t[b + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int j = 0; j < 4; ++j) {
        r[j] = __builtin_shufflevector(u[j], u[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[j + 4] = __builtin_shufflevector(u[j], u[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

// out[p · 8 + l] = rows[l][p] for p < count; visit(v) sees each stored vector.
template <class Visit>
FPSCORE_INLINE void interleave8(const double* const* rows, offset_t count, double* FPSCORE_RESTRICT out, Visit visit) {
    offset_t p = 0;
    for (; p + 8 <= count; p += 8) {
        Vector8 r[8];
        for (int l = 0; l < 8; ++l) r[l] = load_vector<8>(rows[l] + p);
        transpose8(r);
        for (int j = 0; j < 8; ++j) {
            store_vector<8>(out + (p + j) * 8, r[j]);
            visit(r[j]);
        }
    }
    for (; p < count; ++p) {
        Vector8 v;
        for (int l = 0; l < 8; ++l) v[l] = rows[l][p];
        store_vector<8>(out + p * 8, v);
        visit(v);
    }
}

// rows[l][p] = in[p · 8 + l] for p < count.
FPSCORE_INLINE void deinterleave8(const double* FPSCORE_RESTRICT in, offset_t count, double* const* rows) {
    offset_t p = 0;
    for (; p + 8 <= count; p += 8) {
        Vector8 r[8];
        for (int j = 0; j < 8; ++j) r[j] = load_vector<8>(in + (p + j) * 8);
        transpose8(r);
        for (int l = 0; l < 8; ++l) store_vector<8>(rows[l] + p, r[l]);
    }
    for (; p < count; ++p)
        for (int l = 0; l < 8; ++l) rows[l][p] = in[p * 8 + l];
}

}  // namespace fpscore::detail
