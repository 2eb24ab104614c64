// Numeric LU (row-by-row, "IKJ" Doolittle) on the symbolic pattern, and the
// triangular solves. Static pivoting: the FP matrices are diagonally dominant.
#include "fpscore/sparse_lu.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "format.hpp"
#include "fpscore/errors.hpp"

namespace fpscore {

SparseLU::SparseLU(std::shared_ptr<const SymbolicLU> symbolic, double pivot_tolerance)
    : symbolic_(std::move(symbolic)), pivot_tolerance_(pivot_tolerance) {
    if (!symbolic_) throw std::invalid_argument("SparseLU needs a symbolic analysis, got null");
    if (!(pivot_tolerance >= 0.0 && pivot_tolerance < 1.0))
        throw std::invalid_argument("pivot tolerance must lie in [0, 1), got " + detail::str(pivot_tolerance));
    values_.assign(static_cast<size_t>(symbolic_->nnz_factors()), 0.0);
    dense_row_.assign(static_cast<size_t>(symbolic_->n()), 0.0);
}

void SparseLU::factor(const double* a_values) {
    std::fill(values_.begin(), values_.end(), 0.0);
    const auto& map = symbolic_->matrix_to_factor();
    for (size_t p = 0; p < map.size(); ++p) values_[map[p]] += a_values[p];
    factor_assembled();
}

void SparseLU::factor_assembled() {
    factored_ = false;
    const SymbolicLU& s = *symbolic_;
    const index_t n = s.n();
    const offset_t* row_ptr = s.row_ptr().data();
    const offset_t* diag = s.diag().data();
    const index_t* cols = s.cols().data();
    double* lu = values_.data();
    double* w = dense_row_.data();  // zero outside the current row's pattern

    for (index_t i = 0; i < n; ++i) {
        const offset_t begin = row_ptr[i], mid = diag[i], end = row_ptr[i + 1];
        double row_norm = 0.0;
        for (offset_t p = begin; p < end; ++p) {
            w[cols[p]] = lu[p];
            row_norm = std::max(row_norm, std::abs(lu[p]));
        }
        for (offset_t p = begin; p < mid; ++p) {
            const index_t k = cols[p];
            const double l = w[k] / lu[diag[k]];
            w[k] = l;
            for (offset_t q = diag[k] + 1; q < row_ptr[k + 1]; ++q) w[cols[q]] -= l * lu[q];
        }
        const double pivot = w[i];
        for (offset_t p = begin; p < end; ++p) {
            lu[p] = w[cols[p]];
            w[cols[p]] = 0.0;
        }
        if (!(std::abs(pivot) > pivot_tolerance_ * row_norm) || !std::isfinite(pivot)) {
            std::ostringstream msg;
            msg << (std::isfinite(pivot) && std::isfinite(row_norm) ? "zero or tiny" : "non-finite")
                << " pivot in row " << s.permutation()[i] << " (elimination step " << i << " of "
                << n << "): |u_ii| = " << std::abs(pivot) << " against " << pivot_tolerance_
                << " * max_j |a_ij| = " << pivot_tolerance_ * row_norm
                << "; the matrix is singular, not finite, or too ill-conditioned for static "
                   "(diagonal) pivoting";
            throw SingularMatrixError(msg.str());
        }
    }
    factored_ = true;
}

void SparseLU::solve(double* b, index_t nrhs, double* work) const {
    if (!factored_) throw std::invalid_argument("SparseLU::solve called before a successful factor");
    if (nrhs < 1) throw std::invalid_argument("nrhs must be >= 1, got " + std::to_string(nrhs));
    const SymbolicLU& s = *symbolic_;
    const index_t n = s.n();
    const index_t* perm = s.permutation().data();
    const offset_t* row_ptr = s.row_ptr().data();
    const offset_t* diag = s.diag().data();
    const index_t* cols = s.cols().data();
    const double* lu = values_.data();
    const auto r = static_cast<offset_t>(nrhs);
    double* x = work;

    for (index_t i = 0; i < n; ++i)
        std::copy_n(b + perm[i] * r, r, x + i * r);
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
    for (index_t i = 0; i < n; ++i)
        std::copy_n(x + i * r, r, b + perm[i] * r);
}

void SparseLU::solve(double* b, index_t nrhs) const {
    std::vector<double> work(static_cast<size_t>(symbolic_->n()) * static_cast<size_t>(std::max<index_t>(nrhs, 1)));
    solve(b, nrhs, work.data());
}

}  // namespace fpscore
