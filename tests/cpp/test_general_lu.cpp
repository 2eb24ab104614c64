// GeneralLU: the path each matrix takes, backward errors near round-off on matrices that
// diagonal pivoting gets wrong, singular matrices rejected, bad input rejected.
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "fpscore/errors.hpp"
#include "fpscore/sparse/general_lu.hpp"
#include "sparse_test_matrices.hpp"

using fpscore::GeneralLU;
using fpscore::GeneralLUOptions;
using fpscore::Pivoting;

namespace {

// A random sparse matrix whose diagonal is small (0.1) against its off-diagonal entries:
// far from dominant, nonsingular for the seeds used (its residuals are checked).
TestCsr weak_diagonal(fpscore::index_t n, int per_row, unsigned seed) {
    TestCsr a = random_dominant(n, per_row, seed);
    for (fpscore::index_t i = 0; i < n; ++i)
        for (auto p = a.indptr[i]; p < a.indptr[i + 1]; ++p)
            if (a.indices[p] == i) a.data[p] = 0.1;
    return a;
}

std::vector<double> ramp(fpscore::index_t n) {
    std::vector<double> b(static_cast<size_t>(n));
    for (size_t i = 0; i < b.size(); ++i) b[i] = std::cos(0.3 * static_cast<double>(i)) + 0.5;
    return b;
}

GeneralLUOptions forced(Pivoting pivoting) {
    GeneralLUOptions o;
    o.pivoting = pivoting;
    return o;
}

void test_swap_2x2() {
    const TestCsr a = dense_2x2(0.0, 1.0, 1.0, 0.0);
    GeneralLU lu(a.view(), a.data.data(), a.data.size());
    CHECK(lu.factor_report().path == Pivoting::Matched);
    std::vector<double> b{3.0, 5.0};
    lu.solve(b.data(), b.size());
    CHECK(b[0] == 5.0 && b[1] == 3.0);
    CHECK_THROWS(fpscore::SingularMatrixError,
                 GeneralLU(a.view(), a.data.data(), a.data.size(), forced(Pivoting::Diagonal)));
}

void test_weak_diagonal_paths() {
    for (unsigned seed = 1; seed <= 6; ++seed) {
        const TestCsr a = weak_diagonal(400, 4, seed);
        for (Pivoting p : {Pivoting::Automatic, Pivoting::Matched, Pivoting::Partial}) {
            GeneralLU lu(a.view(), a.data.data(), a.data.size(), forced(p));
            CHECK(lu.factor_report().path != Pivoting::Diagonal);
            const std::vector<double> b = ramp(a.n);
            std::vector<double> x = b;
            const fpscore::SolveReport report = lu.solve(x.data(), x.size());
            const double residual = relative_residual(a, x, b);
            CHECK_LE(residual, 1e-15);
            CHECK_LE(report.backward_error, 2 * residual + 1e-300);
        }
    }
}

void test_dominant_takes_diagonal_path() {
    const TestCsr a = random_dominant(300, 5, 3);
    GeneralLU lu(a.view(), a.data.data(), a.data.size());
    CHECK(lu.factor_report().path == Pivoting::Diagonal);
    std::vector<double> x = ramp(a.n);
    const fpscore::SolveReport report = lu.solve(x.data(), x.size());
    CHECK(std::isnan(report.backward_error) && report.refinement_steps == 0);
    CHECK_LE(relative_residual(a, x, ramp(a.n)), 1e-15);
}

void test_many_right_hand_sides() {
    const TestCsr a = weak_diagonal(200, 3, 11);
    GeneralLU lu(a.view(), a.data.data(), a.data.size());
    const int k = 3;
    std::vector<double> b(static_cast<size_t>(a.n) * k);
    for (size_t i = 0; i < b.size(); ++i) b[i] = std::sin(1.7 * static_cast<double>(i));
    std::vector<double> x = b;
    lu.solve(x.data(), x.size(), k);
    for (int c = 0; c < k; ++c) {
        std::vector<double> xc(static_cast<size_t>(a.n)), bc(static_cast<size_t>(a.n));
        for (fpscore::index_t i = 0; i < a.n; ++i) {
            xc[static_cast<size_t>(i)] = x[static_cast<size_t>(i) * k + c];
            bc[static_cast<size_t>(i)] = b[static_cast<size_t>(i) * k + c];
        }
        CHECK_LE(relative_residual(a, xc, bc), 1e-15);
    }
}

void test_singular_and_bad_input() {
    const TestCsr rank1 = dense_2x2(1.0, 1.0, 1.0, 1.0);
    for (Pivoting p : {Pivoting::Automatic, Pivoting::Matched, Pivoting::Partial})
        CHECK_THROWS(fpscore::SingularMatrixError, GeneralLU(rank1.view(), rank1.data.data(), 4, forced(p)));
    // a zero column: no perfect matching
    const TestCsr zero_column = dense_2x2(1.0, 0.0, 2.0, 0.0);
    CHECK_THROWS(fpscore::SingularMatrixError, GeneralLU(zero_column.view(), zero_column.data.data(), 4));

    const TestCsr a = weak_diagonal(50, 3, 2);
    GeneralLU lu(a.view(), a.data.data(), a.data.size());
    std::vector<double> bad = a.data;
    bad[7] = NAN;
    CHECK_THROWS(std::invalid_argument, lu.factor(bad.data(), bad.size()));
    CHECK_THROWS(std::invalid_argument, lu.factor(a.data.data(), a.data.size() - 1));
    std::vector<double> x = ramp(a.n);  // the factors before the rejected values still solve
    lu.solve(x.data(), x.size());
    CHECK_LE(relative_residual(a, x, ramp(a.n)), 1e-15);
    CHECK_THROWS(std::invalid_argument, lu.solve(x.data(), x.size() - 1));

    // a failed factorisation: solve refuses until the next success
    std::vector<double> singular = a.data;
    for (auto p = a.indptr[4]; p < a.indptr[5]; ++p) singular[static_cast<size_t>(p)] = 0.0;
    CHECK_THROWS(fpscore::SingularMatrixError, lu.factor(singular.data(), singular.size()));
    CHECK(!lu.factored());
    CHECK_THROWS(std::invalid_argument, lu.solve(x.data(), x.size()));
    lu.factor(a.data.data(), a.data.size());
    x = ramp(a.n);
    lu.solve(x.data(), x.size());
    CHECK_LE(relative_residual(a, x, ramp(a.n)), 1e-15);
}

}  // namespace

int main() {
    test_swap_2x2();
    test_weak_diagonal_paths();
    test_dominant_takes_diagonal_path();
    test_many_right_hand_sides();
    test_singular_and_bad_input();
    return check::summary("test_general_lu");
}
