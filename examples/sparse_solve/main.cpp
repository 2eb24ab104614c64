// Solves A x = b for a nonsymmetric sparse A with fpscore's sparse LU, then checks the
// residual: a steady convection–diffusion operator on an H×W grid (upwinded, so the
// matrix is nonsymmetric and diagonally dominant) with a few long-range couplings that
// make its pattern no grid. The pattern is analysed once and reused for a second matrix.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include <fpscore/sparse.hpp>

namespace {

struct Csr {
    fpscore::index_t n = 0;
    std::vector<fpscore::offset_t> indptr;
    std::vector<fpscore::index_t> indices;
    std::vector<double> data;
    fpscore::CsrView view() const { return {n, indptr.data(), indices.data()}; }
};

// -Δu + (c·∇)u with c = (cx, cy), first-order upwind, spacing 1, plus, for every 16th
// node p, a coupling to node (7 p + 3) mod n of weight `link` (and a matching diagonal
// increase).
Csr convection_diffusion(int H, int W, double cx, double cy, double link) {
    Csr a;
    a.n = H * W;
    a.indptr.push_back(0);
    for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j) {
            const int p = i * W + j;
            double diag = 4.0 + std::abs(cx) + std::abs(cy);
            auto add = [&](int q, double v) {
                a.indices.push_back(q);
                a.data.push_back(v);
            };
            if (j + 1 < W) add(p + 1, -1.0 + std::min(cx, 0.0));
            if (j > 0) add(p - 1, -1.0 - std::max(cx, 0.0));
            if (i + 1 < H) add(p + W, -1.0 + std::min(cy, 0.0));
            if (i > 0) add(p - W, -1.0 - std::max(cy, 0.0));
            const int far = (7 * p + 3) % a.n;
            if (p % 16 == 0 && std::abs(far - p) > W) {
                add(far, -link);
                diag += link;
            }
            add(p, diag);
            a.indptr.push_back(static_cast<fpscore::offset_t>(a.indices.size()));
        }
    return a;
}

// max_i |(A x − b)_i| / max_i |b_i|
double relative_residual(const Csr& a, const std::vector<double>& x, const std::vector<double>& b) {
    double r = 0.0, scale = 0.0;
    for (fpscore::index_t i = 0; i < a.n; ++i) {
        double s = -b[i];
        for (auto p = a.indptr[i]; p < a.indptr[i + 1]; ++p) s += a.data[p] * x[a.indices[p]];
        r = std::max(r, std::abs(s));
        scale = std::max(scale, std::abs(b[i]));
    }
    return r / scale;
}

}  // namespace

int main() {
    const int H = 40, W = 50;
    Csr a = convection_diffusion(H, W, 2.5, -1.0, 0.5);
    std::vector<double> b(a.n);
    for (fpscore::index_t i = 0; i < a.n; ++i) b[i] = std::sin(0.01 * i) + 1.0;

    // Analyse the pattern once; factorise and solve.
    auto symbolic = std::make_shared<const fpscore::SymbolicLU>(a.view());
    fpscore::SparseLU lu(symbolic);
    lu.factor(a.data.data(), a.data.size());
    std::vector<double> x = b;
    lu.solve(x.data(), x.size());
    const double first = relative_residual(a, x, b);

    // A second matrix with the same pattern: only the numeric factorisation again.
    for (double& v : a.data) v *= 1.5;
    lu.factor(a.data.data(), a.data.size());
    x = b;
    lu.solve(x.data(), x.size());
    const double second = relative_residual(a, x, b);

    std::printf("fpscore %s: n = %d, nnz(A) = %lld, nnz(L+U) = %lld (%s ordering), residuals %.2e, %.2e\n",
                fpscore::version(), a.n, static_cast<long long>(symbolic->nnz_matrix()),
                static_cast<long long>(symbolic->nnz_factors()), fpscore::to_string(symbolic->ordering()).c_str(),
                first, second);
    return first < 1e-10 && second < 1e-10 ? 0 : 1;
}
