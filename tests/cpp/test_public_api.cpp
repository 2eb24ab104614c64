// The public API as a user calls it: sizes are checked, and the obvious constructions are
// the fast ones (one matrix: row by row; a batch: packs with dense fronts on large grids).
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "fpscore/fpscore.hpp"
#include "sparse/symbolic/symbolic_plan.hpp"
#include "sparse_test_matrices.hpp"

using namespace fpscore;

namespace {

void sizes_are_checked() {
    const TestCsr a = random_dominant(60, 4, 3);
    SparseLU lu(std::make_shared<const SymbolicLU>(a.view()));
    CHECK_THROWS(std::invalid_argument, lu.factor(a.data.data(), a.data.size() - 1));
    CHECK(!lu.factored());
    lu.factor(a.data.data(), a.data.size());
    std::vector<double> b(2 * static_cast<size_t>(a.n), 1.0);
    CHECK_THROWS(std::invalid_argument, lu.solve(b.data(), b.size()));     // n * nrhs with nrhs = 1
    CHECK_THROWS(std::invalid_argument, lu.solve(b.data(), b.size(), 3));  // n * 3
    lu.solve(b.data(), b.size(), 2);

    const index_t batch = 5;
    BatchedLU batched(a.view(), batch);
    std::vector<double> values, rhs(static_cast<size_t>(batch) * a.n, 1.0);
    for (index_t k = 0; k < batch; ++k) values.insert(values.end(), a.data.begin(), a.data.end());
    CHECK_THROWS(std::invalid_argument, batched.factor(values.data(), a.data.size()));
    CHECK_THROWS(std::invalid_argument, batched.factor_solve(values.data(), values.size(), rhs.data(), a.n));
    batched.factor(values.data(), values.size());
    CHECK_THROWS(std::invalid_argument, batched.solve(rhs.data(), rhs.size() + 1));
    batched.solve(rhs.data(), rhs.size());
}

// A SymbolicLU built with its defaults plans row-by-row elimination (no merged
// supernodes, no explicit zeros) even on a large grid; BatchedLU plans dense fronts there.
void default_analyses_are_the_fast_ones() {
    const TestCsr a = grid_dominant(130);  // 16900 unknowns: past the dense-front threshold
    const SymbolicLU one(a.view());
    CHECK(!one.plan().multifrontal());
    CHECK(one.nnz_factors() == one.nnz_structural());
    const BatchedLU batched(a.view(), 2);
    CHECK(batched.symbolic().plan().multifrontal());
    CHECK(batched.lanes() == 4 || batched.lanes() == 8);
}

// Every member of a batch built from the pattern matches its own SparseLU solve.
void batched_matches_sparse_lu() {
    const TestCsr base = random_dominant(300, 5, 7);
    const index_t batch = 11;
    std::vector<double> values, b, x;
    for (index_t k = 0; k < batch; ++k) {
        for (size_t p = 0; p < base.data.size(); ++p) values.push_back(base.data[p] * (1.0 + 0.03 * k));
        for (index_t i = 0; i < base.n; ++i) b.push_back(std::cos(0.1 * i + k));
    }
    x = b;
    BatchedLU batched(base.view(), batch, Ordering::Automatic, std::nullopt, 2);
    batched.factor_solve(values.data(), values.size(), x.data(), x.size());
    SparseLU lu(std::make_shared<const SymbolicLU>(base.view()));
    for (index_t k = 0; k < batch; ++k) {
        const auto nnz = base.data.size(), n = static_cast<size_t>(base.n);
        lu.factor(values.data() + k * nnz, nnz);
        std::vector<double> y(b.begin() + k * n, b.begin() + (k + 1) * n);
        lu.solve(y.data(), y.size());
        double diff = 0.0, scale = 0.0;
        for (size_t i = 0; i < n; ++i) {
            diff = std::max(diff, std::abs(y[i] - x[k * n + i]));
            scale = std::max(scale, std::abs(y[i]));
        }
        CHECK_LE(diff / scale, 1e-12);
    }
}

}  // namespace

int main() {
    sizes_are_checked();
    default_analyses_are_the_fast_ones();
    batched_matches_sparse_lu();
    return check::summary("test_public_api");
}
