#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "fpscore/errors.hpp"
#include "fpscore/sparse/sparse_lu.hpp"
#include "sparse/symbolic/symbolic_plan.hpp"
#include "sparse_test_matrices.hpp"

using namespace fpscore;

namespace {

void solves_random_matrices_with_every_ordering() {
    for (const Ordering ord : {Ordering::Natural, Ordering::MinimumDegree, Ordering::NestedDissection,
                               Ordering::ReverseCuthillMcKee, Ordering::Automatic}) {
        const TestCsr a = random_dominant(300, 4, 7);
        auto sym = std::make_shared<const SymbolicLU>(a.view(), ord);
        SparseLU lu(sym);
        lu.factor(a.data.data(), a.data.size());
        std::vector<double> b(a.n), x(a.n);
        for (index_t i = 0; i < a.n; ++i) b[i] = 1.0 + 0.01 * i;
        x = b;
        lu.solve(x.data(), x.size());
        CHECK_LE(relative_residual(a, x, b), 1e-13);
    }
}

void refactor_reuses_the_pattern() {
    TestCsr a = random_dominant(120, 3, 11);
    auto sym = std::make_shared<const SymbolicLU>(a.view());
    SparseLU lu(sym);
    for (double& v : a.data) v *= 2.0;
    lu.factor(a.data.data(), a.data.size());
    std::vector<double> b(a.n, 1.0), x = b;
    lu.solve(x.data(), x.size());
    CHECK_LE(relative_residual(a, x, b), 1e-13);
}

void solves_many_right_hand_sides() {
    const TestCsr a = random_dominant(80, 3, 3);
    SparseLU lu(std::make_shared<const SymbolicLU>(a.view()));
    lu.factor(a.data.data(), a.data.size());
    const index_t k = 3;
    std::vector<double> b(static_cast<size_t>(a.n) * k);
    for (size_t i = 0; i < b.size(); ++i) b[i] = std::sin(static_cast<double>(i));
    std::vector<double> x = b;
    lu.solve(x.data(), x.size(), k);
    for (index_t c = 0; c < k; ++c) {
        std::vector<double> bc(a.n), xc(a.n);
        for (index_t i = 0; i < a.n; ++i) {
            bc[i] = b[i * k + c];
            xc[i] = x[i * k + c];
        }
        CHECK_LE(relative_residual(a, xc, bc), 1e-13);
    }
}

void singular_pivot_throws() {
    // [[1, 1], [1, 1]]: the second pivot is exactly zero.
    const TestCsr a = dense_2x2(1.0, 1.0, 1.0, 1.0);
    SparseLU lu(std::make_shared<const SymbolicLU>(a.view(), Ordering::Natural));
    CHECK_THROWS(SingularMatrixError, lu.factor(a.data.data(), a.data.size()));
    CHECK(!lu.factored());
    std::vector<double> b(2, 1.0);
    CHECK_THROWS(std::invalid_argument, lu.solve(b.data(), b.size()));
}

void bad_patterns_throw() {
    TestCsr a;
    a.n = 2;
    a.indptr = {0, 1, 2};
    a.indices = {0, 5};
    CHECK_THROWS(std::invalid_argument, SymbolicLU(a.view()));
    a.indices = {0, 1};
    CHECK_THROWS(std::invalid_argument, SymbolicLU(a.view(), std::vector<index_t>{0, 0}));
}

}  // namespace

// Both eliminations of one pattern give the same factors up to rounding.
void eliminations_agree() {
    for (const index_t n : {50, 700}) {
        const TestCsr a = random_dominant(n, 5, 13);
        std::vector<double> b(n);
        for (index_t i = 0; i < n; ++i) b[i] = std::sin(0.7 * i) + 2.0;
        std::vector<std::vector<double>> x;
        for (const detail::Elimination e : {detail::Elimination::RowByRow, detail::Elimination::DenseFronts}) {
            auto sym = std::make_shared<const SymbolicLU>(detail::analyse_pattern(a.view(), Ordering::MinimumDegree, std::nullopt, e));
            CHECK(sym->plan().multifrontal() == (e == detail::Elimination::DenseFronts));
            SparseLU lu(sym);
            lu.factor(a.data.data(), a.data.size());
            x.push_back(b);
            lu.solve(x.back().data(), x.back().size());
            CHECK_LE(relative_residual(a, x.back(), b), 1e-13);
        }
        double diff = 0.0;
        for (index_t i = 0; i < n; ++i) diff = std::max(diff, std::abs(x[0][i] - x[1][i]));
        CHECK_LE(diff, 1e-12);
    }
}

// Two threads (the halves of the tree at once) give one thread's answer; a zero row in
// either half or in the separator is reported as the first failing step, as on one thread.
void two_threads_agree_with_one() {
    TestCsr a = grid_dominant(40);
    const GridShape grid{40, 40};
    auto sym = std::make_shared<const SymbolicLU>(a.view(), Ordering::Automatic, grid);
    SparseLU one(sym), two(sym, SparseLU::kDefaultPivotTolerance, 2);
    CHECK(one.threads() == 1);
    CHECK(two.threads() == 2);
    std::vector<double> b(a.n);
    for (index_t i = 0; i < a.n; ++i) b[i] = std::cos(0.3 * i);
    std::vector<double> x1 = b, x2 = b;
    one.factor(a.data.data(), a.data.size());
    two.factor(a.data.data(), a.data.size());
    one.solve(x1.data(), x1.size());
    two.solve(x2.data(), x2.size());
    CHECK_LE(relative_residual(a, x2, b), 1e-13);
    double diff = 0.0;
    for (index_t i = 0; i < a.n; ++i) diff = std::max(diff, std::abs(x1[i] - x2[i]));
    CHECK_LE(diff, 1e-12);
    for (const index_t step : {100, 1000, a.n - 5}) {
        TestCsr bad = a;
        const index_t row = sym->permutation()[step];
        std::fill(bad.data.begin() + bad.indptr[row], bad.data.begin() + bad.indptr[row + 1], 0.0);
        std::string msg1, msg2;
        try { one.factor(bad.data.data(), bad.data.size()); } catch (const SingularMatrixError& e) { msg1 = e.what(); }
        try { two.factor(bad.data.data(), bad.data.size()); } catch (const SingularMatrixError& e) { msg2 = e.what(); }
        CHECK(!msg1.empty());
        CHECK(msg1 == msg2);
        CHECK(msg2.find("elimination step " + std::to_string(step) + " ") != std::string::npos);
        two.factor(a.data.data(), a.data.size());  // the failure left clean work rows
        x2 = b;
        two.solve(x2.data(), x2.size());
        CHECK_LE(relative_residual(a, x2, b), 1e-13);
    }
}

// NaN or inf values are rejected before the kernels see them (std::invalid_argument), the
// previous factors kept; unchecked, a NaN on two threads left NaN in the work rows and every
// later factorisation of a good matrix failed.
void non_finite_values_throw() {
    TestCsr a = grid_dominant(40);
    auto sym = std::make_shared<const SymbolicLU>(a.view(), Ordering::Automatic, GridShape{40, 40});
    std::vector<double> b(a.n);
    for (index_t i = 0; i < a.n; ++i) b[i] = std::sin(0.7 * i);
    for (const int threads : {1, 2}) {
        SparseLU lu(sym, SparseLU::kDefaultPivotTolerance, threads);
        lu.factor(a.data.data(), a.data.size());
        for (const double v : {std::nan(""), HUGE_VAL, -HUGE_VAL})
            for (const size_t at : {size_t{0}, a.data.size() / 2, a.data.size() - 1}) {
                TestCsr bad = a;
                bad.data[at] = v;
                CHECK_THROWS(std::invalid_argument, lu.factor(bad.data.data(), bad.data.size()));
                CHECK(lu.factored());  // the previous factors stay
                std::vector<double> x = b;
                lu.solve(x.data(), x.size());
                CHECK_LE(relative_residual(a, x, b), 1e-13);
            }
    }
}

int main() {
    non_finite_values_throw();
    eliminations_agree();
    two_threads_agree_with_one();
    solves_random_matrices_with_every_ordering();
    refactor_reuses_the_pattern();
    solves_many_right_hand_sides();
    singular_pivot_throws();
    bad_patterns_throw();
    return check::summary("test_sparse_lu");
}
