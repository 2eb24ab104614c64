// Interleaved numeric LU: the same row-by-row elimination as SparseLU, with every
// scalar operation widened to kLanes matrices.
#include "fpscore/packed_lu.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "format.hpp"
#include "fpscore/errors.hpp"
#include "simd_dispatch.hpp"

namespace fpscore {
namespace {

constexpr index_t L = PackedLU::kLanes;
using Lanes = detail::LaneVector<L>::type;
FPSCORE_INLINE Lanes load(const double* p) { return detail::load_lanes<L>(p); }
FPSCORE_INLINE void store(double* p, Lanes v) { detail::store_lanes<L>(p, v); }

struct Plan {
    index_t n;
    const offset_t* row_ptr;
    const offset_t* diag;
    const index_t* cols;
    const index_t* supernode_end;
};

Plan plan_of(const SymbolicLU& s) {
    return {s.n(), s.row_ptr().data(), s.diag().data(), s.cols().data(), s.supernode_end().data()};
}

// Applies rows a..b-1 of U (one supernode, all in the current row's L part) to the
// dense row w. Their U patterns are {k+1, ..., b-1} followed by a common tail, so the
// tail update w[c] -= Σ_k l_k u_kc runs over several k at once with w[c] in a register.
FPSCORE_INLINE void eliminate_block(const Plan& s, index_t a, index_t b, const double* FPSCORE_RESTRICT lu,
                                    const double* FPSCORE_RESTRICT inv_piv, double* FPSCORE_RESTRICT w) {
    for (index_t k = a; k < b; ++k) {  // the dense triangle inside the block
        const Lanes lk = load(w + static_cast<offset_t>(k) * L) * load(inv_piv + static_cast<offset_t>(k) * L);
        store(w + static_cast<offset_t>(k) * L, lk);
        const double* u = lu + (s.diag[k] + 1) * L;  // U(k) starts with k+1, ..., b-1
        for (index_t c = k + 1; c < b; ++c) {
            double* wc = w + static_cast<offset_t>(c) * L;
            store(wc, load(wc) - lk * load(u + static_cast<offset_t>(c - k - 1) * L));
        }
    }
    const offset_t tail = s.diag[a] + (b - a);  // first tail entry of row a
    const offset_t len = s.row_ptr[a + 1] - tail;
    const index_t* cols = s.cols + tail;
    index_t k = a;
    for (; k + 8 <= b; k += 8) {
        Lanes l[8];
        const double* u[8];
        for (int r = 0; r < 8; ++r) {
            l[r] = load(w + static_cast<offset_t>(k + r) * L);
            u[r] = lu + (s.diag[k + r] + (b - k - r)) * L;
        }
        for (offset_t j = 0; j < len; ++j) {
            double* wc = w + static_cast<offset_t>(cols[j]) * L;
            const offset_t o = j * L;
            const Lanes x = (l[0] * load(u[0] + o) + l[1] * load(u[1] + o)) + (l[2] * load(u[2] + o) + l[3] * load(u[3] + o));
            const Lanes y = (l[4] * load(u[4] + o) + l[5] * load(u[5] + o)) + (l[6] * load(u[6] + o) + l[7] * load(u[7] + o));
            store(wc, load(wc) - (x + y));
        }
    }
    for (; k + 4 <= b; k += 4) {
        const Lanes l0 = load(w + static_cast<offset_t>(k) * L), l1 = load(w + static_cast<offset_t>(k + 1) * L);
        const Lanes l2 = load(w + static_cast<offset_t>(k + 2) * L), l3 = load(w + static_cast<offset_t>(k + 3) * L);
        const double* u0 = lu + (s.diag[k] + (b - k)) * L;
        const double* u1 = lu + (s.diag[k + 1] + (b - k - 1)) * L;
        const double* u2 = lu + (s.diag[k + 2] + (b - k - 2)) * L;
        const double* u3 = lu + (s.diag[k + 3] + (b - k - 3)) * L;
        for (offset_t j = 0; j < len; ++j) {
            double* wc = w + static_cast<offset_t>(cols[j]) * L;
            const offset_t o = j * L;
            store(wc, load(wc) - ((l0 * load(u0 + o) + l1 * load(u1 + o)) + (l2 * load(u2 + o) + l3 * load(u3 + o))));
        }
    }
    for (; k < b; ++k) {
        const Lanes lk = load(w + static_cast<offset_t>(k) * L);
        const double* u = lu + (s.diag[k] + (b - k)) * L;
        for (offset_t j = 0; j < len; ++j) {
            double* wc = w + static_cast<offset_t>(cols[j]) * L;
            store(wc, load(wc) - lk * load(u + j * L));
        }
    }
}

// Eliminates all rows; returns -1 on success, else the first row whose pivot failed
// (its lanes' pivots are left in `pivots_out`, its norms in `norms`).
FPSCORE_SIMD_CLONES
index_t factor_kernel(Plan s, double* FPSCORE_RESTRICT lu, double* FPSCORE_RESTRICT inv_piv,
                      double* FPSCORE_RESTRICT w, double* FPSCORE_RESTRICT norms, double tolerance,
                      index_t active) {
    for (index_t i = 0; i < s.n; ++i) {
        const offset_t begin = s.row_ptr[i], mid = s.diag[i], end = s.row_ptr[i + 1];
        double norm[L] = {};
        for (offset_t p = begin; p < end; ++p) {
            double* wc = w + static_cast<offset_t>(s.cols[p]) * L;
            const double* v = lu + p * L;
            for (index_t l = 0; l < L; ++l) {
                wc[l] = v[l];
                norm[l] = std::max(norm[l], std::abs(v[l]));
            }
        }
        // L part of row i: whole supernodes (and the leading part of i's own one) as dense blocks.
        for (offset_t p = begin; p < mid;) {
            const index_t a = s.cols[p];
            const index_t b = std::min(s.supernode_end[a], i);
            eliminate_block(s, a, b, lu, inv_piv, w);
            p += b - a;
        }
        const double* piv = w + static_cast<offset_t>(i) * L;
        bool ok = true;
        for (index_t l = 0; l < active; ++l)
            ok &= std::abs(piv[l]) > tolerance * norm[l] && std::isfinite(piv[l]);
        if (!ok) {
            for (index_t l = 0; l < L; ++l) norms[l] = norm[l];
            return i;
        }
        for (index_t l = 0; l < L; ++l) inv_piv[static_cast<offset_t>(i) * L + l] = 1.0 / piv[l];
        for (offset_t p = begin; p < end; ++p) {
            double* wc = w + static_cast<offset_t>(s.cols[p]) * L;
            double* v = lu + p * L;
            for (index_t l = 0; l < L; ++l) {
                v[l] = wc[l];
                wc[l] = 0.0;
            }
        }
    }
    return -1;
}

// x_i −= Σ_p lu[p] · x[cols[p]] over positions [begin, end), with four partial sums so
// that consecutive multiply-adds do not wait on each other.
FPSCORE_INLINE Lanes row_dot(const double* FPSCORE_RESTRICT lu, const index_t* cols, const double* x, offset_t begin,
                             offset_t end) {
    Lanes s0 = {}, s1 = {}, s2 = {}, s3 = {};
    offset_t p = begin;
    for (; p + 4 <= end; p += 4) {
        s0 += load(lu + p * L) * load(x + static_cast<offset_t>(cols[p]) * L);
        s1 += load(lu + (p + 1) * L) * load(x + static_cast<offset_t>(cols[p + 1]) * L);
        s2 += load(lu + (p + 2) * L) * load(x + static_cast<offset_t>(cols[p + 2]) * L);
        s3 += load(lu + (p + 3) * L) * load(x + static_cast<offset_t>(cols[p + 3]) * L);
    }
    for (; p < end; ++p) s0 += load(lu + p * L) * load(x + static_cast<offset_t>(cols[p]) * L);
    return (s0 + s1) + (s2 + s3);
}

FPSCORE_SIMD_CLONES
void solve_kernel(Plan s, const double* FPSCORE_RESTRICT lu, const double* FPSCORE_RESTRICT inv_piv,
                  double* FPSCORE_RESTRICT x) {
    for (index_t i = 0; i < s.n; ++i) {  // L y = P b
        double* xi = x + static_cast<offset_t>(i) * L;
        store(xi, load(xi) - row_dot(lu, s.cols, x, s.row_ptr[i], s.diag[i]));
    }
    for (index_t i = s.n - 1; i >= 0; --i) {  // U z = y
        double* xi = x + static_cast<offset_t>(i) * L;
        const Lanes acc = load(xi) - row_dot(lu, s.cols, x, s.diag[i] + 1, s.row_ptr[i + 1]);
        store(xi, acc * load(inv_piv + static_cast<offset_t>(i) * L));
    }
}

}  // namespace

PackedLU::PackedLU(std::shared_ptr<const SymbolicLU> symbolic, double pivot_tolerance)
    : symbolic_(std::move(symbolic)), pivot_tolerance_(pivot_tolerance) {
    if (!symbolic_) throw std::invalid_argument("PackedLU needs a symbolic analysis, got null");
    if (!(pivot_tolerance >= 0.0 && pivot_tolerance < 1.0))
        throw std::invalid_argument("pivot tolerance must lie in [0, 1), got " + detail::str(pivot_tolerance));
    const auto n = static_cast<size_t>(symbolic_->n());
    values_.assign(static_cast<size_t>(symbolic_->nnz_factors()) * L, 0.0);
    inv_pivots_.assign(n * L, 0.0);
    dense_row_.assign(n * L, 0.0);
    row_norms_.assign(L, 0.0);
}

void PackedLU::factor(const double* const* a_values, index_t active) {
    if (active < 1 || active > L)
        throw std::invalid_argument("active lanes must lie in [1, " + std::to_string(L) + "]");
    std::fill(values_.begin(), values_.end(), 0.0);
    const auto& map = symbolic_->matrix_to_factor();
    for (index_t l = 0; l < active; ++l)
        for (size_t p = 0; p < map.size(); ++p) values_[map[p] * L + l] += a_values[l][p];
    factor_assembled(active);
}

void PackedLU::factor_assembled(index_t active) {
    if (active < 1 || active > L)
        throw std::invalid_argument("active lanes must lie in [1, " + std::to_string(L) + "]");
    factored_ = false;
    const size_t count = values_.size() / L;
    for (size_t p = 0; p < count; ++p)
        for (index_t l = active; l < L; ++l) values_[p * L + l] = values_[p * L];
    const index_t bad = factor_kernel(plan_of(*symbolic_), values_.data(), inv_pivots_.data(), dense_row_.data(),
                                      row_norms_.data(), pivot_tolerance_, active);
    if (bad < 0) {
        factored_ = true;
        return;
    }
    index_t lane = 0;
    double pivot = 0.0;
    for (index_t l = 0; l < active; ++l) {
        pivot = dense_row_[static_cast<size_t>(bad) * L + l];
        lane = l;
        if (!(std::abs(pivot) > pivot_tolerance_ * row_norms_[l]) || !std::isfinite(pivot)) break;
    }
    std::fill(dense_row_.begin(), dense_row_.end(), 0.0);
    failed_lane_ = lane;
    std::ostringstream msg;
    msg << "zero, tiny or non-finite pivot in row " << symbolic_->permutation()[bad] << " (elimination step "
        << bad << " of " << symbolic_->n() << ") of lane " << lane << ": |u_ii| = " << std::abs(pivot)
        << " against " << pivot_tolerance_ << " * max_j |a_ij| = " << pivot_tolerance_ * row_norms_[lane]
        << "; the matrix is singular, not finite, or too ill-conditioned for static (diagonal) pivoting";
    throw SingularMatrixError(msg.str());
}

void PackedLU::solve(double* x, double* work) const {
    if (!factored_) throw std::invalid_argument("PackedLU::solve called before a successful factor");
    const index_t n = symbolic_->n();
    const index_t* perm = symbolic_->permutation().data();
    for (index_t i = 0; i < n; ++i)
        std::copy_n(x + static_cast<offset_t>(perm[i]) * L, L, work + static_cast<offset_t>(i) * L);
    solve_kernel(plan_of(*symbolic_), values_.data(), inv_pivots_.data(), work);
    for (index_t i = 0; i < n; ++i)
        std::copy_n(work + static_cast<offset_t>(i) * L, L, x + static_cast<offset_t>(perm[i]) * L);
}

}  // namespace fpscore
