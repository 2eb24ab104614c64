#include "sparse/numeric/iterative_refinement.hpp"

#include <algorithm>
#include <cmath>

namespace fpscore::detail {

double infinity_norm(const CsrView& a, const double* values) {
    double norm = 0.0;
    for (index_t i = 0; i < a.n; ++i) {
        double sum = 0.0;
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) sum += std::abs(values[p]);
        norm = std::max(norm, sum);
    }
    return norm;
}

void residual(const CsrView& a, const double* values, const double* x, const double* b, double* r, index_t nrhs) {
    const auto k = static_cast<std::size_t>(nrhs);
    for (index_t i = 0; i < a.n; ++i) {
        double* ri = r + static_cast<std::size_t>(i) * k;
        const double* bi = b + static_cast<std::size_t>(i) * k;
        for (std::size_t c = 0; c < k; ++c) ri[c] = bi[c];
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
            const double v = values[p];
            const double* xj = x + static_cast<std::size_t>(a.indices[p]) * k;
            for (std::size_t c = 0; c < k; ++c) ri[c] -= v * xj[c];
        }
    }
}

double backward_error(const double* r, const double* x, const double* b, index_t n, index_t nrhs, double norm_a) {
    const auto k = static_cast<std::size_t>(nrhs);
    double worst = 0.0;
    for (std::size_t c = 0; c < k; ++c) {
        double r_max = 0.0, x_max = 0.0, b_max = 0.0;
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
            r_max = std::max(r_max, std::abs(r[i * k + c]));
            x_max = std::max(x_max, std::abs(x[i * k + c]));
            b_max = std::max(b_max, std::abs(b[i * k + c]));
        }
        const double scale = norm_a * x_max + b_max;
        // b = 0 and x = 0 is exact; a NaN anywhere must not read as small.
        const double error = scale > 0.0 ? r_max / scale : (r_max == 0.0 ? 0.0 : INFINITY);
        if (std::isnan(error)) return error;
        worst = std::max(worst, error);
    }
    return worst;
}

}  // namespace fpscore::detail
