#include "sparse/numeric/matched_system.hpp"

#include <utility>

namespace fpscore::detail {

MatchedSystem::MatchedSystem(const CsrView& a, MatchingScaling matching)
    : n_(a.n), matching_(std::move(matching)) {
    const auto n = static_cast<std::size_t>(n_);
    const auto nnz = static_cast<std::size_t>(a.nnz());
    indptr_.resize(n + 1);
    indices_.resize(nnz);
    from_a_.resize(nnz);
    scale_.resize(nnz);
    offset_t p = 0;
    indptr_[0] = 0;
    for (index_t j = 0; j < n_; ++j) {
        const index_t row = matching_.row_of_column[static_cast<std::size_t>(j)];
        const double row_scale = matching_.row_scale[static_cast<std::size_t>(row)];
        for (offset_t q = a.indptr[row]; q < a.indptr[row + 1]; ++q, ++p) {
            const index_t col = a.indices[q];
            indices_[static_cast<std::size_t>(p)] = col;
            from_a_[static_cast<std::size_t>(p)] = q;
            scale_[static_cast<std::size_t>(p)] = row_scale * matching_.column_scale[static_cast<std::size_t>(col)];
        }
        indptr_[static_cast<std::size_t>(j) + 1] = p;
    }
}

void MatchedSystem::gather(const double* a_values, double* b_values) const {
    const std::size_t nnz = from_a_.size();
    for (std::size_t p = 0; p < nnz; ++p) b_values[p] = a_values[from_a_[p]] * scale_[p];
}

void MatchedSystem::to_matched(const double* b, double* y, index_t nrhs) const {
    const auto k = static_cast<std::size_t>(nrhs);
    for (std::size_t j = 0; j < static_cast<std::size_t>(n_); ++j) {
        const auto row = static_cast<std::size_t>(matching_.row_of_column[j]);
        const double s = matching_.row_scale[row];
        for (std::size_t c = 0; c < k; ++c) y[j * k + c] = s * b[row * k + c];
    }
}

void MatchedSystem::to_original(double* y, index_t nrhs) const {
    const auto k = static_cast<std::size_t>(nrhs);
    for (std::size_t j = 0; j < static_cast<std::size_t>(n_); ++j) {
        const double s = matching_.column_scale[j];
        for (std::size_t c = 0; c < k; ++c) y[j * k + c] *= s;
    }
}

}  // namespace fpscore::detail
