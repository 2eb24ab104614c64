// Numeric LU (row-by-row, "IKJ" Doolittle) on the symbolic pattern, and the
// triangular solves. Static pivoting: the FP matrices are diagonally dominant.
#include "fpscore/sparse_lu.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "format.hpp"
#include "simd_dispatch.hpp"
#include "fpscore/errors.hpp"

namespace fpscore {

SparseLU::SparseLU(std::shared_ptr<const SymbolicLU> symbolic, double pivot_tolerance)
    : symbolic_(std::move(symbolic)), pivot_tolerance_(pivot_tolerance) {
    if (!symbolic_) throw std::invalid_argument("SparseLU needs a symbolic analysis, got null");
    if (!(pivot_tolerance >= 0.0 && pivot_tolerance < 1.0))
        throw std::invalid_argument("pivot tolerance must lie in [0, 1), got " + detail::str(pivot_tolerance));
    values_.assign(static_cast<size_t>(symbolic_->nnz_factors()), 0.0);
    dense_row_.assign(static_cast<size_t>(symbolic_->n()), 0.0);
    tail_.assign(static_cast<size_t>(symbolic_->n()), 0.0);
}

void SparseLU::factor(const double* a_values) {
    std::fill(values_.begin(), values_.end(), 0.0);
    const auto& map = symbolic_->matrix_to_factor();
    for (size_t p = 0; p < map.size(); ++p) values_[map[p]] += a_values[p];
    factor_assembled();
}

namespace {

struct Plan {
    index_t n;
    const offset_t* row_ptr;
    const offset_t* diag;
    const index_t* cols;
    const index_t* supernode_end;
};

// Applies rows a..b-1 of U (a supernode inside the current row's L part) to the dense
// row w. The rows' tails (entries beyond b-1) share one pattern and are contiguous in
// each row, so their combination t = Σ_k l_k u_k,tail is a dense, vectorised loop; t is
// then scattered into w once.
FPSCORE_INLINE void eliminate_block(const Plan& s, index_t a, index_t b, const double* FPSCORE_RESTRICT lu,
                                    double* FPSCORE_RESTRICT w, double* FPSCORE_RESTRICT t) {
    for (index_t k = a; k < b; ++k) {  // the dense triangle inside the block
        const double lk = w[k] / lu[s.diag[k]];
        w[k] = lk;
        const double* u = lu + s.diag[k] + 1;  // U(k) starts with k+1, ..., b-1
        for (index_t c = k + 1; c < b; ++c) w[c] -= lk * u[c - k - 1];
    }
    const offset_t tail = s.diag[a] + (b - a);  // first tail entry of row a
    const offset_t len = s.row_ptr[a + 1] - tail;
    const index_t* cols = s.cols + tail;
    if (b - a < 4) {  // too few rows to pay for the dense combination
        for (index_t k = a; k < b; ++k) {
            const double lk = w[k];
            const double* u = lu + s.diag[k] + (b - k);
            for (offset_t j = 0; j < len; ++j) w[cols[j]] -= lk * u[j];
        }
        return;
    }
    std::fill_n(t, len, 0.0);
    index_t k = a;
    for (; k + 4 <= b; k += 4) {
        const double l0 = w[k], l1 = w[k + 1], l2 = w[k + 2], l3 = w[k + 3];
        const double* FPSCORE_RESTRICT u0 = lu + s.diag[k] + (b - k);
        const double* FPSCORE_RESTRICT u1 = lu + s.diag[k + 1] + (b - k - 1);
        const double* FPSCORE_RESTRICT u2 = lu + s.diag[k + 2] + (b - k - 2);
        const double* FPSCORE_RESTRICT u3 = lu + s.diag[k + 3] + (b - k - 3);
        for (offset_t j = 0; j < len; ++j) t[j] += l0 * u0[j] + l1 * u1[j] + l2 * u2[j] + l3 * u3[j];
    }
    for (; k < b; ++k) {
        const double lk = w[k];
        const double* FPSCORE_RESTRICT u = lu + s.diag[k] + (b - k);
        for (offset_t j = 0; j < len; ++j) t[j] += lk * u[j];
    }
    for (offset_t j = 0; j < len; ++j) w[cols[j]] -= t[j];
}

// Eliminates all rows; returns -1, or the first row whose pivot failed (pivot and row
// norm in *pivot, *norm).
FPSCORE_SIMD_CLONES
index_t factor_kernel(Plan s, double* FPSCORE_RESTRICT lu, double* FPSCORE_RESTRICT w, double* FPSCORE_RESTRICT t,
                      double tolerance, double* pivot_out, double* norm_out) {
    for (index_t i = 0; i < s.n; ++i) {
        const offset_t begin = s.row_ptr[i], mid = s.diag[i], end = s.row_ptr[i + 1];
        double norm = 0.0;
        for (offset_t p = begin; p < end; ++p) {
            w[s.cols[p]] = lu[p];
            norm = std::max(norm, std::abs(lu[p]));
        }
        for (offset_t p = begin; p < mid;) {  // whole supernodes, then the start of i's own one
            const index_t a = s.cols[p];
            const index_t b = std::min(s.supernode_end[a], i);
            eliminate_block(s, a, b, lu, w, t);
            p += b - a;
        }
        const double pivot = w[i];
        for (offset_t p = begin; p < end; ++p) {
            lu[p] = w[s.cols[p]];
            w[s.cols[p]] = 0.0;
        }
        if (!(std::abs(pivot) > tolerance * norm) || !std::isfinite(pivot)) {
            *pivot_out = pivot;
            *norm_out = norm;
            return i;
        }
    }
    return -1;
}

}  // namespace

void SparseLU::factor_assembled() {
    factored_ = false;
    const SymbolicLU& s = *symbolic_;
    const Plan plan{s.n(), s.row_ptr().data(), s.diag().data(), s.cols().data(), s.supernode_end().data()};
    double pivot = 0.0, row_norm = 0.0;
    const index_t i = factor_kernel(plan, values_.data(), dense_row_.data(), tail_.data(), pivot_tolerance_, &pivot,
                                    &row_norm);
    if (i < 0) {
        factored_ = true;
        return;
    }
    std::ostringstream msg;
    msg << (std::isfinite(pivot) && std::isfinite(row_norm) ? "zero or tiny" : "non-finite") << " pivot in row "
        << s.permutation()[i] << " (elimination step " << i << " of " << s.n() << "): |u_ii| = " << std::abs(pivot)
        << " against " << pivot_tolerance_ << " * max_j |a_ij| = " << pivot_tolerance_ * row_norm
        << "; the matrix is singular, not finite, or too ill-conditioned for static (diagonal) pivoting";
    throw SingularMatrixError(msg.str());
}

namespace {

// Σ_p lu[p] · x[cols[p]] over [begin, end) with four partial sums, so that consecutive
// multiply-adds do not wait on each other.
FPSCORE_INLINE double row_dot(const double* lu, const index_t* cols, const double* x, offset_t begin, offset_t end) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    offset_t p = begin;
    for (; p + 4 <= end; p += 4) {
        s0 += lu[p] * x[cols[p]];
        s1 += lu[p + 1] * x[cols[p + 1]];
        s2 += lu[p + 2] * x[cols[p + 2]];
        s3 += lu[p + 3] * x[cols[p + 3]];
    }
    for (; p < end; ++p) s0 += lu[p] * x[cols[p]];
    return (s0 + s1) + (s2 + s3);
}

FPSCORE_SIMD_CLONES
void solve_one(const Plan& s, const double* FPSCORE_RESTRICT lu, double* FPSCORE_RESTRICT x) {
    for (index_t i = 0; i < s.n; ++i) x[i] -= row_dot(lu, s.cols, x, s.row_ptr[i], s.diag[i]);
    for (index_t i = s.n - 1; i >= 0; --i)
        x[i] = (x[i] - row_dot(lu, s.cols, x, s.diag[i] + 1, s.row_ptr[i + 1])) / lu[s.diag[i]];
}

FPSCORE_SIMD_CLONES
void solve_many(const Plan& s, const double* FPSCORE_RESTRICT lu, double* FPSCORE_RESTRICT x, offset_t r) {
    for (index_t i = 0; i < s.n; ++i) {  // L y = P b, L unit lower
        double* xi = x + i * r;
        for (offset_t p = s.row_ptr[i]; p < s.diag[i]; ++p) {
            const double l = lu[p];
            const double* xk = x + s.cols[p] * r;
            for (offset_t c = 0; c < r; ++c) xi[c] -= l * xk[c];
        }
    }
    for (index_t i = s.n - 1; i >= 0; --i) {  // U z = y
        double* xi = x + i * r;
        for (offset_t p = s.diag[i] + 1; p < s.row_ptr[i + 1]; ++p) {
            const double u = lu[p];
            const double* xj = x + s.cols[p] * r;
            for (offset_t c = 0; c < r; ++c) xi[c] -= u * xj[c];
        }
        const double pivot = lu[s.diag[i]];
        for (offset_t c = 0; c < r; ++c) xi[c] /= pivot;
    }
}

}  // namespace

void SparseLU::solve(double* b, index_t nrhs, double* work) const {
    if (!factored_) throw std::invalid_argument("SparseLU::solve called before a successful factor");
    if (nrhs < 1) throw std::invalid_argument("nrhs must be >= 1, got " + std::to_string(nrhs));
    const SymbolicLU& s = *symbolic_;
    const index_t n = s.n();
    const index_t* perm = s.permutation().data();
    const Plan plan{n, s.row_ptr().data(), s.diag().data(), s.cols().data(), s.supernode_end().data()};
    const auto r = static_cast<offset_t>(nrhs);
    for (index_t i = 0; i < n; ++i) std::copy_n(b + perm[i] * r, r, work + i * r);
    if (nrhs == 1)
        solve_one(plan, values_.data(), work);
    else
        solve_many(plan, values_.data(), work, r);
    for (index_t i = 0; i < n; ++i) std::copy_n(work + i * r, r, b + perm[i] * r);
}

void SparseLU::solve(double* b, index_t nrhs) const {
    std::vector<double> work(static_cast<size_t>(symbolic_->n()) * static_cast<size_t>(std::max<index_t>(nrhs, 1)));
    solve(b, nrhs, work.data());
}

}  // namespace fpscore
