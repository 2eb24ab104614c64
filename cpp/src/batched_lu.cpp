#include "fpscore/batched_lu.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "fpscore/errors.hpp"
#include "parallel.hpp"

namespace fpscore {

namespace {
constexpr index_t L = PackedLU::kLanes;
}

BatchedLU::BatchedLU(std::shared_ptr<const SymbolicLU> symbolic, index_t batch, int threads, double pivot_tolerance)
    : symbolic_(std::move(symbolic)), batch_(batch) {
    if (!symbolic_) throw std::invalid_argument("BatchedLU needs a symbolic analysis, got null");
    if (batch < 1) throw std::invalid_argument("batch must be >= 1, got " + std::to_string(batch));
    if (threads < 0) throw std::invalid_argument("threads must be >= 0, got " + std::to_string(threads));
    const index_t packs = (batch + L - 1) / L;
    threads_ = detail::thread_count(threads, packs);
    packs_.reserve(static_cast<size_t>(packs));
    for (index_t k = 0; k < packs; ++k) packs_.emplace_back(symbolic_, pivot_tolerance);
}

void BatchedLU::factor(const double* values) {
    factored_ = false;
    const auto nnz = static_cast<size_t>(symbolic_->nnz_matrix());
    auto factor_pack = [&](index_t k) {
        const index_t first = k * L, count = std::min(L, batch_ - first);
        const double* lanes[L];
        for (index_t l = 0; l < count; ++l) lanes[l] = values + static_cast<size_t>(first + l) * nnz;
        PackedLU& pack = packs_[static_cast<size_t>(k)];
        try {
            pack.factor(lanes, count);
        } catch (const SingularMatrixError& e) {
            throw SingularMatrixError("batch member " + std::to_string(first + pack.failed_lane()) + ": " + e.what());
        }
    };
    detail::parallel_for(static_cast<index_t>(packs_.size()), threads_, [&] { return factor_pack; });
    factored_ = true;
}

void BatchedLU::solve(double* b) const {
    if (!factored_) throw std::invalid_argument("BatchedLU::solve called before a successful factor");
    const auto n = static_cast<size_t>(symbolic_->n());
    auto make_worker = [&] {
        // Per-thread interleaved right-hand sides and workspace.
        return [&, x = std::vector<double>(n * L), work = std::vector<double>(n * L)](index_t k) mutable {
            const index_t first = k * L, count = std::min(L, batch_ - first);
            std::fill(x.begin(), x.end(), 0.0);
            for (index_t l = 0; l < count; ++l)
                for (size_t i = 0; i < n; ++i) x[i * L + l] = b[(first + l) * n + i];
            packs_[static_cast<size_t>(k)].solve(x.data(), work.data());
            for (index_t l = 0; l < count; ++l)
                for (size_t i = 0; i < n; ++i) b[(first + l) * n + i] = x[i * L + l];
        };
    };
    detail::parallel_for(static_cast<index_t>(packs_.size()), threads_, make_worker);
}

}  // namespace fpscore
