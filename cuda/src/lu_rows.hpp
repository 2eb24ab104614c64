// One row of a batched sparse LU, for one matrix of an interleaved batch (entry p of matrix l at
// p * stride + l): the row-by-row (up-looking) elimination on the symbolic plan's factor
// pattern, and the rows of the two triangular solves. Rows of one level of the plan's level
// schedule depend only on rows of lower levels, so a kernel runs a whole level at once, one
// thread per (row, matrix), consecutive threads on consecutive matrices.
#pragma once

#include <cstdint>

#include "hd.hpp"

namespace fpscore::cuda_detail {

// The plan's factor pattern as raw arrays (device or host memory). Factor row i is
// [row_ptr[i], row_ptr[i+1]) with ascending columns: L part, diagonal at diag[i], U part.
struct FactorPattern {
    const std::int64_t* row_ptr;
    const std::int32_t* cols;
    const std::int64_t* diag;
};

// Eliminates factor row i of matrix `lane`: values hold A's entries scattered into the factor
// pattern (zeros at fill positions) and rows of lower levels already factorised. Writes L's
// multipliers and U's row in place and 1/u_ii to inv_pivots[i * stride + lane]. Returns
// whether the pivot is usable: |u_ii| > tolerance * max_j |a_ij| and finite (as SparseLU).
// pivot and norm receive u_ii and max_j |a_ij|.
FPSCORE_HD bool factor_row(const FactorPattern& f, std::int32_t i, double* values, double* inv_pivots,
                           std::int64_t stride, std::int64_t lane, double tolerance, double* pivot, double* norm) {
    const std::int64_t begin = f.row_ptr[i], end = f.row_ptr[i + 1], d = f.diag[i];
    double largest = 0.0;
    for (std::int64_t p = begin; p < end; ++p) {
        const double a = values[p * stride + lane];
        const double magnitude = a < 0.0 ? -a : a;
        largest = magnitude > largest || magnitude != magnitude ? magnitude : largest;
    }
    // Multipliers l_ik in ascending k: each subtracts l_ik * U(k, k+1:) from the rest of row i.
    // U(k)'s columns beyond k all lie in row i's pattern (the pattern is closed under fill), in
    // the same ascending order: one merge walk finds them.
    for (std::int64_t p = begin; p < d; ++p) {
        const std::int32_t k = f.cols[p];
        const double l = values[p * stride + lane] * inv_pivots[static_cast<std::int64_t>(k) * stride + lane];
        values[p * stride + lane] = l;
        std::int64_t q = p + 1;
        for (std::int64_t u = f.diag[k] + 1; u < f.row_ptr[k + 1]; ++u) {
            const std::int32_t j = f.cols[u];
            while (f.cols[q] != j) ++q;
            values[q * stride + lane] -= l * values[u * stride + lane];
        }
    }
    const double u_ii = values[d * stride + lane];
    inv_pivots[static_cast<std::int64_t>(i) * stride + lane] = 1.0 / u_ii;
    *pivot = u_ii;
    *norm = largest;
    const double magnitude = u_ii < 0.0 ? -u_ii : u_ii;
    const bool finite = magnitude <= 1.79769313486231570815e308;  // false for inf and NaN
    return finite && magnitude > tolerance * largest;
}

// Forward substitution, row i: y_i −= Σ l_ik y_k (L unit lower triangular).
FPSCORE_HD void forward_row(const FactorPattern& f, std::int32_t i, const double* values, double* y,
                            std::int64_t stride, std::int64_t lane) {
    double sum = y[static_cast<std::int64_t>(i) * stride + lane];
    for (std::int64_t p = f.row_ptr[i]; p < f.diag[i]; ++p)
        sum -= values[p * stride + lane] * y[static_cast<std::int64_t>(f.cols[p]) * stride + lane];
    y[static_cast<std::int64_t>(i) * stride + lane] = sum;
}

// Backward substitution, row i: x_i = (y_i − Σ u_ij x_j) / u_ii.
FPSCORE_HD void backward_row(const FactorPattern& f, std::int32_t i, const double* values,
                             const double* inv_pivots, double* x, std::int64_t stride, std::int64_t lane) {
    double sum = x[static_cast<std::int64_t>(i) * stride + lane];
    for (std::int64_t p = f.diag[i] + 1; p < f.row_ptr[i + 1]; ++p)
        sum -= values[p * stride + lane] * x[static_cast<std::int64_t>(f.cols[p]) * stride + lane];
    x[static_cast<std::int64_t>(i) * stride + lane] = sum * inv_pivots[static_cast<std::int64_t>(i) * stride + lane];
}

}  // namespace fpscore::cuda_detail
