// ThresholdPivotingLU against a dense LU with partial pivoting written here (the reference), on
// matrices whose diagonal cannot be used as pivots, singular matrices, and bad arguments.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"
#include "fpscore/errors.hpp"
#include "sparse/numeric/threshold_pivoting_lu.hpp"
#include "sparse_test_matrices.hpp"

using namespace fpscore;
using detail::ThresholdPivotingLU;

namespace {

using Entries = std::map<std::pair<index_t, index_t>, double>;  // (row, column) → value, stored even if 0

TestCsr csr_from(index_t n, const Entries& entries) {
    TestCsr a;
    a.n = n;
    a.indptr.assign(static_cast<size_t>(n) + 1, 0);
    for (const auto& [ij, v] : entries) {
        ++a.indptr[ij.first + 1];
        a.indices.push_back(ij.second);
        a.data.push_back(v);
    }
    for (index_t i = 0; i < n; ++i) a.indptr[i + 1] += a.indptr[i];
    return a;
}

std::vector<double> dense(const TestCsr& a) {
    std::vector<double> d(static_cast<size_t>(a.n) * a.n, 0.0);
    for (index_t i = 0; i < a.n; ++i)
        for (auto p = a.indptr[i]; p < a.indptr[i + 1]; ++p) d[static_cast<size_t>(i) * a.n + a.indices[p]] += a.data[p];
    return d;
}

// The reference: Gaussian elimination with row interchanges (largest pivot in the column) on a
// dense copy, then the two triangular solves.
std::vector<double> dense_solve(const TestCsr& a, std::vector<double> b) {
    const size_t n = static_cast<size_t>(a.n);
    std::vector<double> m = dense(a);
    for (size_t k = 0; k < n; ++k) {
        size_t best = k;
        for (size_t i = k + 1; i < n; ++i)
            if (std::abs(m[i * n + k]) > std::abs(m[best * n + k])) best = i;
        if (best != k) {
            for (size_t j = 0; j < n; ++j) std::swap(m[k * n + j], m[best * n + j]);
            std::swap(b[k], b[best]);
        }
        for (size_t i = k + 1; i < n; ++i) {
            const double l = m[i * n + k] / m[k * n + k];
            for (size_t j = k + 1; j < n; ++j) m[i * n + j] -= l * m[k * n + j];
            b[i] -= l * b[k];
        }
    }
    for (size_t k = n; k-- > 0;) {
        double s = b[k];
        for (size_t j = k + 1; j < n; ++j) s -= m[k * n + j] * b[j];
        b[k] = s / m[k * n + k];
    }
    return b;
}

double max_abs_difference(const std::vector<double>& x, const std::vector<double>& y) {
    double d = 0.0, scale = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        d = std::max(d, std::abs(x[i] - y[i]));
        scale = std::max(scale, std::abs(y[i]));
    }
    return d / scale;
}

std::vector<index_t> natural(index_t n) {
    std::vector<index_t> q(static_cast<size_t>(n));
    std::iota(q.begin(), q.end(), 0);
    return q;
}

std::vector<index_t> shuffled(index_t n, unsigned seed) {
    std::vector<index_t> q = natural(n);
    std::mt19937 rng(seed);
    std::shuffle(q.begin(), q.end(), rng);
    return q;
}

std::vector<double> rhs(index_t n) {
    std::vector<double> b(static_cast<size_t>(n));
    for (index_t i = 0; i < n; ++i) b[i] = std::cos(0.7 * i) + 0.1;
    return b;
}

// Factors, solves, and compares with the dense reference (residual and solution).
void check_solves(const TestCsr& a, std::vector<index_t> order, double threshold = 0.1, double forward_tol = 1e-10) {
    ThresholdPivotingLU lu(a.view(), std::move(order), threshold);
    lu.factor(a.data.data(), a.data.size());
    CHECK(lu.factored());
    const std::vector<double> b = rhs(a.n);
    std::vector<double> x = b;
    lu.solve(x.data(), x.size());
    CHECK_LE(relative_residual(a, x, b), 1e-14 * std::max<index_t>(a.n, 10));
    CHECK_LE(max_abs_difference(x, dense_solve(a, b)), forward_tol);
}

TestCsr swap_2x2() { return csr_from(2, {{{0, 1}, 1.0}, {{1, 0}, 1.0}}); }

TestCsr permuted_identity(index_t n, unsigned seed) {
    const std::vector<index_t> p = shuffled(n, seed);
    Entries e;
    for (index_t i = 0; i < n; ++i) e[{i, p[i]}] = 1.0 + 0.01 * i;
    return csr_from(n, e);
}

// [[H, Bᵀ], [B, 0]]: H tridiagonal SPD (m × m), B (p × m) with full row rank; the lower right
// block is stored as explicit zeros on the diagonal, so a diagonal pivot there is exactly 0.
TestCsr saddle_point(index_t m, index_t p, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> val(-1.0, 1.0);
    std::uniform_int_distribution<index_t> col(0, m - 1);
    Entries e;
    for (index_t i = 0; i < m; ++i) {
        e[{i, i}] = 4.0;
        if (i > 0) e[{i, i - 1}] = e[{i - 1, i}] = -1.0;
    }
    for (index_t r = 0; r < p; ++r) {
        const index_t i = m + r;
        e[{i, i}] = 0.0;
        e[{i, r}] = e[{r, i}] = 1.0;  // B's leading identity part: full row rank
        for (int t = 0; t < 2; ++t) {
            const index_t j = col(rng);
            const double v = val(rng);
            e[{i, j}] = v;
            e[{j, i}] = v;
        }
    }
    return csr_from(m + p, e);
}

// Random nonsymmetric, not diagonally dominant; every third diagonal entry is absent and every
// fifth stored as 0. A random permutation matrix is added so the matrix is nonsingular.
TestCsr random_zero_diagonal(index_t n, int per_row, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> val(-1.0, 1.0);
    std::uniform_int_distribution<index_t> col(0, n - 1);
    const std::vector<index_t> p = shuffled(n, seed + 1);
    Entries e;
    for (index_t i = 0; i < n; ++i) {
        for (int t = 0; t < per_row; ++t) e[{i, col(rng)}] = val(rng);
        e[{i, p[i]}] = 3.0 * (val(rng) >= 0 ? 1.0 : -1.0);
        if (i % 3 == 0) e.erase({i, i});
        else if (i % 5 == 0) e[{i, i}] = 0.0;
    }
    return csr_from(n, e);
}

// An arrow: diagonal, dense first row and column. The diagonal is small against the arrow, so
// the first column's pivot comes off the diagonal.
TestCsr arrow(index_t n) {
    Entries e;
    for (index_t i = 0; i < n; ++i) {
        e[{i, i}] = i == 0 ? 1e-3 : 0.5 + 0.01 * i;
        if (i > 0) {
            e[{0, i}] = 1.0;
            e[{i, 0}] = 2.0 + std::sin(i);
        }
    }
    return csr_from(n, e);
}

void solves_structurally_hard_matrices() {
    check_solves(swap_2x2(), natural(2));
    check_solves(permuted_identity(50, 3), natural(50));
    check_solves(permuted_identity(50, 4), shuffled(50, 9));
    for (const double threshold : {0.001, 0.1, 1.0}) {
        check_solves(saddle_point(30, 12, 5), natural(42), threshold);
        check_solves(saddle_point(30, 12, 5), shuffled(42, 6), threshold);
        check_solves(random_zero_diagonal(200, 3, 7), natural(200), threshold);
        check_solves(random_zero_diagonal(200, 3, 8), shuffled(200, 2), threshold);
        check_solves(arrow(40), natural(40), threshold);
    }
    std::vector<index_t> reversed = natural(40);
    std::reverse(reversed.begin(), reversed.end());
    check_solves(arrow(40), reversed);  // the dense column last: no fill
}

void pivots_follow_the_threshold() {
    // Column 0 holds 0.5 on the diagonal and 1 below it: 0.5 passes threshold 0.1, not 1.
    const TestCsr a = dense_2x2(0.5, 1.0, 1.0, 1.0);
    ThresholdPivotingLU loose(a.view(), natural(2), 0.1);
    loose.factor(a.data.data(), a.data.size());
    CHECK(loose.off_diagonal_pivots() == 0);
    ThresholdPivotingLU strict(a.view(), natural(2), 1.0);
    strict.factor(a.data.data(), a.data.size());
    CHECK(strict.off_diagonal_pivots() == 2);  // row 1 pivots column 0, so row 0 pivots column 1
    const std::vector<double> b = {1.0, 2.0};
    for (ThresholdPivotingLU* lu : {&loose, &strict}) {
        std::vector<double> x = b;
        lu->solve(x.data(), x.size());
        CHECK_LE(max_abs_difference(x, {2.0, 0.0}), 1e-15);
    }
    ThresholdPivotingLU swap(swap_2x2().view(), natural(2));
    const TestCsr s = swap_2x2();
    swap.factor(s.data.data(), s.data.size());
    CHECK(swap.off_diagonal_pivots() == 2);
}

void counts_entries_and_flops() {
    // Dense 3 × 3, diagonally dominant: diagonal pivots, L has 3 entries, U 6; flops
    // Σₖ (n−k−1) divisions + 2 (n−k−1)² multiply-adds = 13.
    Entries e;
    for (index_t i = 0; i < 3; ++i)
        for (index_t j = 0; j < 3; ++j) e[{i, j}] = i == j ? 10.0 : 1.0 + i + j;
    const TestCsr a = csr_from(3, e);
    ThresholdPivotingLU lu(a.view(), natural(3), 1.0);
    CHECK(!lu.factored());
    lu.factor(a.data.data(), a.data.size());
    CHECK(lu.nnz_factors() == 9);
    CHECK(lu.factor_flops() == 13.0);
    CHECK(lu.off_diagonal_pivots() == 0);
    // A diagonal matrix: no L, no updates.
    const TestCsr one = permuted_identity(1, 0);
    ThresholdPivotingLU diag(one.view(), natural(1));
    diag.factor(one.data.data(), one.data.size());
    CHECK(diag.nnz_factors() == 1);
    CHECK(diag.factor_flops() == 0.0);
}

void singular_matrices_throw() {
    const auto throws_singular = [](TestCsr a, double tolerance) {
        ThresholdPivotingLU lu(a.view(), shuffled(a.n, 1), 0.1, tolerance);
        CHECK_THROWS(SingularMatrixError, lu.factor(a.data.data(), a.data.size()));
        CHECK(!lu.factored());
        std::vector<double> x(static_cast<size_t>(a.n), 1.0);
        CHECK_THROWS(std::invalid_argument, lu.solve(x.data(), x.size()));
    };
    TestCsr zero_row = random_zero_diagonal(60, 3, 11);
    for (auto p = zero_row.indptr[17]; p < zero_row.indptr[18]; ++p) zero_row.data[p] = 0.0;
    throws_singular(zero_row, 0.0);

    Entries e;  // column 5 is structurally empty
    const TestCsr base = random_zero_diagonal(40, 3, 12);
    for (index_t i = 0; i < base.n; ++i)
        for (auto p = base.indptr[i]; p < base.indptr[i + 1]; ++p)
            if (base.indices[p] != 5) e[{i, base.indices[p]}] = base.data[p];
    throws_singular(csr_from(base.n, e), 0.0);

    Entries dup;  // row 9 repeats row 4
    for (index_t i = 0; i < base.n; ++i)
        for (auto p = base.indptr[i]; p < base.indptr[i + 1]; ++p)
            if (i != 9) dup[{i, base.indices[p]}] = base.data[p];
    for (auto p = base.indptr[4]; p < base.indptr[5]; ++p) dup[{9, base.indices[p]}] = base.data[p];
    throws_singular(csr_from(base.n, dup), 1e-12);

    // U Vᵀ with U, V of 30 × 20: rank 20 < 30; roundoff leaves pivots of order 1e-16 relative.
    std::mt19937 rng(13);
    std::uniform_real_distribution<double> val(-1.0, 1.0);
    std::vector<double> u(30 * 20), v(30 * 20);
    for (double& x : u) x = val(rng);
    for (double& x : v) x = val(rng);
    Entries product;
    for (index_t i = 0; i < 30; ++i)
        for (index_t j = 0; j < 30; ++j) {
            double s = 0.0;
            for (int r = 0; r < 20; ++r) s += u[i * 20 + r] * v[j * 20 + r];
            product[{i, j}] = s;
        }
    throws_singular(csr_from(30, product), 1e-10);

    throws_singular(csr_from(1, {{{0, 0}, 0.0}}), 0.0);
    // Finite entries whose elimination overflows: −1e308 − 1e308 = −inf as the last pivot.
    const TestCsr overflow = dense_2x2(1.0, 1e308, 1.0, -1e308);
    ThresholdPivotingLU natural_lu(overflow.view(), natural(2));
    CHECK_THROWS(SingularMatrixError, natural_lu.factor(overflow.data.data(), overflow.data.size()));
    // The same in U: column 2 gets U(1, 2) = 1e308 − (−1e308) = inf from L(1, 0), with nothing below it.
    const TestCsr in_u = csr_from(3, {{{0, 0}, 1.0},
                                      {{0, 2}, 1e308},
                                      {{1, 0}, -1.0},
                                      {{1, 1}, 1.0},
                                      {{1, 2}, 1e308},
                                      {{2, 2}, 1.0}});
    ThresholdPivotingLU u_lu(in_u.view(), natural(3), 1.0);
    CHECK_THROWS(SingularMatrixError, u_lu.factor(in_u.data.data(), in_u.data.size()));
    // A tiny pivot against its column passes with tolerance 0 and fails with 1e-12.
    const TestCsr tiny = dense_2x2(1.0, 1.0, 1.0, 1.0 + 1e-14);
    ThresholdPivotingLU lu(tiny.view(), natural(2), 0.1, 0.0);
    lu.factor(tiny.data.data(), tiny.data.size());
    CHECK(lu.factored());
    throws_singular(tiny, 1e-12);
}

void failure_leaves_the_object_usable() {
    TestCsr a = random_zero_diagonal(150, 3, 21);
    ThresholdPivotingLU lu(a.view(), shuffled(a.n, 4));
    const std::vector<double> good = a.data;
    lu.factor(good.data(), good.size());
    for (auto p = a.indptr[30]; p < a.indptr[31]; ++p) a.data[p] = 0.0;  // row 30 zero
    try {
        lu.factor(a.data.data(), a.data.size());
        CHECK(false);
    } catch (const SingularMatrixError& e) {
        CHECK(std::string(e.what()).find("column") != std::string::npos);
    }
    std::vector<double> x(static_cast<size_t>(a.n), 1.0);
    CHECK_THROWS(std::invalid_argument, lu.solve(x.data(), x.size()));
    a.data = good;
    check_solves(a, shuffled(a.n, 4));
    lu.factor(good.data(), good.size());
    const std::vector<double> b = rhs(a.n);
    x = b;
    lu.solve(x.data(), x.size());
    CHECK_LE(relative_residual(a, x, b), 1e-12);
    CHECK_LE(max_abs_difference(x, dense_solve(a, b)), 1e-10);
}

void refactor_chooses_pivots_anew() {
    TestCsr a = random_zero_diagonal(120, 4, 31);
    ThresholdPivotingLU lu(a.view(), natural(a.n));
    lu.factor(a.data.data(), a.data.size());
    const index_t first_off = lu.off_diagonal_pivots();
    // New values on the same pattern: stored diagonal entries large, so they now pass the threshold.
    for (index_t i = 0; i < a.n; ++i)
        for (auto p = a.indptr[i]; p < a.indptr[i + 1]; ++p)
            if (a.indices[p] == i) a.data[p] = 100.0;
    bool all_diagonals = true;
    for (index_t i = 0; i < a.n; ++i) {
        bool has = false;
        for (auto p = a.indptr[i]; p < a.indptr[i + 1]; ++p) has |= a.indices[p] == i;
        all_diagonals &= has;
    }
    CHECK(!all_diagonals);  // some diagonal entries absent: those columns still pivot elsewhere
    for (int round = 0; round < 2; ++round) {
        lu.factor(a.data.data(), a.data.size());
        const std::vector<double> b = rhs(a.n);
        std::vector<double> x = b;
        lu.solve(x.data(), x.size());
        CHECK_LE(relative_residual(a, x, b), 1e-13);
        CHECK_LE(max_abs_difference(x, dense_solve(a, b)), 1e-10);
        CHECK(lu.off_diagonal_pivots() < first_off);
    }
    CHECK(first_off > 0);
}

void solves_many_right_hand_sides() {
    const TestCsr a = random_zero_diagonal(90, 3, 41);
    ThresholdPivotingLU lu(a.view(), shuffled(a.n, 2));
    lu.factor(a.data.data(), a.data.size());
    const index_t k = 5;
    std::vector<double> b(static_cast<size_t>(a.n) * k);
    for (size_t i = 0; i < b.size(); ++i) b[i] = std::sin(0.3 * static_cast<double>(i));
    std::vector<double> x = b;
    lu.solve(x.data(), x.size(), k);
    for (index_t c = 0; c < k; ++c) {
        std::vector<double> bc(a.n), xc(a.n);
        for (index_t i = 0; i < a.n; ++i) {
            bc[i] = b[i * k + c];
            xc[i] = x[i * k + c];
        }
        CHECK_LE(relative_residual(a, xc, bc), 1e-13);
        CHECK_LE(max_abs_difference(xc, dense_solve(a, bc)), 1e-10);
    }
    std::vector<double> none;
    lu.solve(none.data(), 0, 0);  // zero right-hand sides: nothing to do
}

// CsrView allows unsorted columns and repeated entries (summed); the factorisation accepts them.
void repeated_and_unsorted_entries_add_up() {
    const TestCsr base = random_zero_diagonal(60, 3, 61);
    TestCsr a;
    a.n = base.n;
    a.indptr.push_back(0);
    for (index_t i = 0; i < base.n; ++i) {
        for (auto p = base.indptr[i + 1]; p-- > base.indptr[i];) {  // each row reversed, its entries halved
            a.indices.push_back(base.indices[p]);
            a.data.push_back(0.25 * base.data[p]);
            a.indices.push_back(base.indices[p]);
            a.data.push_back(0.75 * base.data[p]);
        }
        a.indptr.push_back(static_cast<offset_t>(a.indices.size()));
    }
    check_solves(a, shuffled(a.n, 3));
}

void order_one() {
    const TestCsr a = csr_from(1, {{{0, 0}, -4.0}});
    ThresholdPivotingLU lu(a.view(), natural(1));
    lu.factor(a.data.data(), a.data.size());
    std::vector<double> x = {2.0};
    lu.solve(x.data(), x.size());
    CHECK(x[0] == -0.5);
}

// A lower bidiagonal matrix with a full last column: the search from the last column's first row
// runs down a path of length n, which a recursive search would not survive at this size.
void deep_search_at_a_million() {
    const index_t n = 1000000;
    TestCsr a;
    a.n = n;
    a.indptr.push_back(0);
    for (index_t i = 0; i < n; ++i) {
        if (i > 0) {
            a.indices.push_back(i - 1);
            a.data.push_back(1.0);
        }
        if (i < n - 1) {
            a.indices.push_back(i);
            a.data.push_back(2.0);
        }
        a.indices.push_back(n - 1);
        a.data.push_back(i == n - 1 ? 2.0 : 1e-3);
        a.indptr.push_back(static_cast<offset_t>(a.indices.size()));
    }
    ThresholdPivotingLU lu(a.view(), natural(n));
    lu.factor(a.data.data(), a.data.size());
    const std::vector<double> b = rhs(n);
    std::vector<double> x = b;
    lu.solve(x.data(), x.size());
    CHECK_LE(relative_residual(a, x, b), 1e-14);
}

void bad_arguments_throw() {
    const TestCsr a = random_zero_diagonal(10, 2, 51);
    CHECK_THROWS(std::invalid_argument, ThresholdPivotingLU(a.view(), natural(9)));
    std::vector<index_t> repeated = natural(10);
    repeated[3] = 4;
    CHECK_THROWS(std::invalid_argument, ThresholdPivotingLU(a.view(), repeated));
    std::vector<index_t> out_of_range = natural(10);
    out_of_range[0] = 10;
    CHECK_THROWS(std::invalid_argument, ThresholdPivotingLU(a.view(), out_of_range));
    out_of_range[0] = -1;
    CHECK_THROWS(std::invalid_argument, ThresholdPivotingLU(a.view(), out_of_range));
    for (const double t : {0.0, -0.5, 1.5, std::nan("")})
        CHECK_THROWS(std::invalid_argument, ThresholdPivotingLU(a.view(), natural(10), t));
    for (const double t : {-1e-3, std::nan(""), HUGE_VAL})
        CHECK_THROWS(std::invalid_argument, ThresholdPivotingLU(a.view(), natural(10), 0.1, t));
    TestCsr bad_index = a;
    bad_index.indices[0] = 10;
    CHECK_THROWS(std::invalid_argument, ThresholdPivotingLU(bad_index.view(), natural(10)));

    ThresholdPivotingLU lu(a.view(), natural(10));
    std::vector<double> x(10, 1.0);
    CHECK_THROWS(std::invalid_argument, lu.solve(x.data(), x.size()));  // before factor()
    CHECK_THROWS(std::invalid_argument, lu.factor(a.data.data(), a.data.size() - 1));
    std::vector<double> values = a.data;
    values[2] = std::nan("");
    CHECK_THROWS(std::invalid_argument, lu.factor(values.data(), values.size()));
    values[2] = -HUGE_VAL;
    CHECK_THROWS(std::invalid_argument, lu.factor(values.data(), values.size()));
    lu.factor(a.data.data(), a.data.size());
    CHECK_THROWS(std::invalid_argument, lu.solve(x.data(), x.size() - 1));
    CHECK_THROWS(std::invalid_argument, lu.solve(x.data(), x.size(), 2));
    CHECK_THROWS(std::invalid_argument, lu.solve(x.data(), x.size(), -1));
}

}  // namespace

int main() {
    solves_structurally_hard_matrices();
    pivots_follow_the_threshold();
    counts_entries_and_flops();
    singular_matrices_throw();
    failure_leaves_the_object_usable();
    refactor_chooses_pivots_anew();
    solves_many_right_hand_sides();
    repeated_and_unsorted_entries_add_up();
    order_one();
    deep_search_at_a_million();
    bad_arguments_throw();
    return check::summary("test_threshold_pivoting_lu");
}
