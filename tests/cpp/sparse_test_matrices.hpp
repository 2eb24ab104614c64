// Test matrices built independently of the library: a random, strictly diagonally
// dominant, structurally unsymmetric sparse matrix and a residual check.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <set>
#include <vector>

#include "fpscore/sparse/csr.hpp"

struct TestCsr {
    fpscore::index_t n = 0;
    std::vector<fpscore::offset_t> indptr;
    std::vector<fpscore::index_t> indices;
    std::vector<double> data;
    fpscore::CsrView view() const { return {n, indptr.data(), indices.data()}; }
};

inline TestCsr random_dominant(fpscore::index_t n, int per_row, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<fpscore::index_t> col(0, n - 1);
    std::uniform_real_distribution<double> val(-1.0, 1.0);
    TestCsr a;
    a.n = n;
    a.indptr.push_back(0);
    for (fpscore::index_t i = 0; i < n; ++i) {
        std::set<fpscore::index_t> cols{i};
        while (static_cast<int>(cols.size()) < per_row + 1) cols.insert(col(rng));
        double off = 0.0;
        std::vector<double> row;
        for (const auto j : cols) {
            const double v = j == i ? 0.0 : val(rng);
            off += std::abs(v);
            row.push_back(v);
        }
        fpscore::index_t k = 0;
        for (const auto j : cols) {
            a.indices.push_back(j);
            a.data.push_back(j == i ? off + 1.0 + std::abs(val(rng)) : row[k]);
            ++k;
        }
        a.indptr.push_back(static_cast<fpscore::offset_t>(a.indices.size()));
    }
    return a;
}

// The full 2 × 2 matrix [[a00, a01], [a10, a11]]: small enough to choose its pivots by hand.
inline TestCsr dense_2x2(double a00, double a01, double a10, double a11) {
    TestCsr a;
    a.n = 2;
    a.indptr = {0, 2, 4};
    a.indices = {0, 1, 0, 1};
    a.data = {a00, a01, a10, a11};
    return a;
}

// The 5-point pattern of a side × side grid, strictly diagonally dominant, nonsymmetric values.
inline TestCsr grid_dominant(fpscore::index_t side) {
    TestCsr a;
    a.n = side * side;
    a.indptr.push_back(0);
    for (fpscore::index_t r = 0; r < side; ++r)
        for (fpscore::index_t c = 0; c < side; ++c) {
            const fpscore::index_t i = r * side + c;
            double off = 0.0;
            const auto add = [&](fpscore::index_t j) {
                const double v = std::sin(0.37 * i + 1.3 * j);
                off += std::abs(v);
                a.indices.push_back(j);
                a.data.push_back(v);
            };
            if (r > 0) add(i - side);
            if (c > 0) add(i - 1);
            const size_t diag = a.data.size();
            a.indices.push_back(i);
            a.data.push_back(0.0);
            if (c + 1 < side) add(i + 1);
            if (r + 1 < side) add(i + side);
            a.data[diag] = off + 0.5;
            a.indptr.push_back(static_cast<fpscore::offset_t>(a.indices.size()));
        }
    return a;
}

// ‖A x − b‖∞ / (‖A‖∞ ‖x‖∞ + ‖b‖∞)
inline double relative_residual(const TestCsr& a, const std::vector<double>& x, const std::vector<double>& b) {
    double r = 0.0, anorm = 0.0, xnorm = 0.0, bnorm = 0.0;
    for (fpscore::index_t i = 0; i < a.n; ++i) {
        double s = 0.0, rowsum = 0.0;
        for (auto p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
            s += a.data[p] * x[a.indices[p]];
            rowsum += std::abs(a.data[p]);
        }
        r = std::max(r, std::abs(s - b[i]));
        anorm = std::max(anorm, rowsum);
        xnorm = std::max(xnorm, std::abs(x[i]));
        bnorm = std::max(bnorm, std::abs(b[i]));
    }
    return r / (anorm * xnorm + bnorm);
}
