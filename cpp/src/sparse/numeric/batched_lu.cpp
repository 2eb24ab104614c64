#include "fpscore/sparse/batched_lu.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/aligned_vector.hpp"
#include "common/parallel.hpp"
#include "common/simd_dispatch.hpp"
#include "fpscore/errors.hpp"
#include "sparse/numeric/packed_lu.hpp"
#include "sparse/numeric/transpose.hpp"

namespace fpscore {

struct BatchedLU::Impl {
    Impl(std::shared_ptr<const SymbolicLU> symbolic, index_t batch, int threads, double pivot_tolerance);
    // Factorises pack k; with x (its right-hand sides, interleaved) also solves for them.
    // x and work: n * PackedLU::kMaxLanes, cache-line aligned.
    void factor_pack(index_t k, const double* values, double* x, double* work);
    void load_rhs(index_t k, const double* b, double* x) const;
    void store_solutions(index_t k, const double* x, double* b) const;
    void factor(const double* values);
    void solve(double* b) const;
    void factor_solve(const double* values, double* b);

    std::shared_ptr<const SymbolicLU> symbolic_;
    index_t batch_;
    int threads_ = 1;
    std::vector<Pack> plan_;
    std::vector<PackedLU> packs_;
    bool factored_ = false;
};

BatchedLU::Impl::Impl(std::shared_ptr<const SymbolicLU> symbolic, index_t batch, int threads, double pivot_tolerance)
    : symbolic_(std::move(symbolic)), batch_(batch) {
    if (!symbolic_) throw std::invalid_argument("BatchedLU needs a symbolic analysis, got null");
    if (batch < 1) throw std::invalid_argument("batch must be >= 1, got " + std::to_string(batch));
    if (threads < 0) throw std::invalid_argument("threads must be >= 0, got " + std::to_string(threads));
    plan_ = plan_packs(batch);
    threads_ = detail::thread_count(threads, static_cast<index_t>(plan_.size()));
    packs_.reserve(plan_.size());
    for (const Pack& p : plan_) packs_.emplace_back(symbolic_, p.lanes, pivot_tolerance);
}

void BatchedLU::Impl::factor_pack(index_t k, const double* values, double* x, double* work) {
    const Pack& p = plan_[static_cast<size_t>(k)];
    const auto nnz = static_cast<size_t>(symbolic_->nnz_matrix());
    const double* lanes[PackedLU::kMaxLanes];
    for (index_t l = 0; l < p.count; ++l) lanes[l] = values + static_cast<size_t>(p.first + l) * nnz;
    PackedLU& pack = packs_[static_cast<size_t>(k)];
    try {
        if (x != nullptr)
            pack.factor_solve(lanes, p.count, x, work);
        else
            pack.factor(lanes, p.count);
    } catch (const SingularMatrixError& e) {
        throw SingularMatrixError("batch member " + std::to_string(p.first + pack.failed_lane()) + ": " + e.what());
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("batch member " + std::to_string(p.first + pack.failed_lane()) + ": " + e.what());
    }
}

namespace {

// A full pack of eight through in-register transposes (transpose.hpp).
FPSCORE_INLINE void interleave_full_pack_body(const double* const* rows, offset_t n, double* x) {
    detail::interleave8(rows, n, x, [](detail::Vector8) FPSCORE_INLINE_LAMBDA {});
}
FPSCORE_SIMD_KERNEL(void, interleave_full_pack,
                    (const double* const* rows, offset_t n, double* x),
                    (rows, n, x))

FPSCORE_INLINE void deinterleave_full_pack_body(const double* x, offset_t n, double* const* rows) {
    detail::deinterleave8(x, n, rows);
}
FPSCORE_SIMD_KERNEL(void, deinterleave_full_pack,
                    (const double* x, offset_t n, double* const* rows),
                    (x, n, rows))

}  // namespace

void BatchedLU::Impl::load_rhs(index_t k, const double* b, double* x) const {
    const Pack& p = plan_[static_cast<size_t>(k)];
    const auto n = static_cast<size_t>(symbolic_->n());
    const auto L = static_cast<size_t>(p.lanes);
    if (L == 8 && p.count == 8) {
        const double* rows[8];
        for (index_t l = 0; l < 8; ++l) rows[l] = b + static_cast<size_t>(p.first + l) * n;
        interleave_full_pack(rows, static_cast<offset_t>(n), x);
        return;
    }
    std::fill_n(x, n * L, 0.0);
    for (index_t l = 0; l < p.count; ++l) {
        const double* src = b + static_cast<size_t>(p.first + l) * n;
        for (size_t i = 0; i < n; ++i) x[i * L + l] = src[i];
    }
}

void BatchedLU::Impl::store_solutions(index_t k, const double* x, double* b) const {
    const Pack& p = plan_[static_cast<size_t>(k)];
    const auto n = static_cast<size_t>(symbolic_->n());
    const auto L = static_cast<size_t>(p.lanes);
    if (L == 8 && p.count == 8) {
        double* rows[8];
        for (index_t l = 0; l < 8; ++l) rows[l] = b + static_cast<size_t>(p.first + l) * n;
        deinterleave_full_pack(x, static_cast<offset_t>(n), rows);
        return;
    }
    for (index_t l = 0; l < p.count; ++l) {
        double* dst = b + static_cast<size_t>(p.first + l) * n;
        for (size_t i = 0; i < n; ++i) dst[i] = x[i * L + l];
    }
}

void BatchedLU::Impl::factor(const double* values) {
    factored_ = false;
    detail::parallel_for(static_cast<index_t>(packs_.size()), threads_,
                         [&] { return [&](index_t k) { factor_pack(k, values, nullptr, nullptr); }; });
    factored_ = true;
}

void BatchedLU::Impl::solve(double* b) const {
    if (!factored_) throw std::invalid_argument("BatchedLU::solve called before a successful factor");
    const size_t size = static_cast<size_t>(symbolic_->n()) * PackedLU::kMaxLanes;
    detail::parallel_for(static_cast<index_t>(packs_.size()), threads_, [&] {
        // Per-thread interleaved right-hand sides and workspace.
        return [&, x = aligned_vector<double>(size), work = aligned_vector<double>(size)](index_t k) mutable {
            load_rhs(k, b, x.data());
            packs_[static_cast<size_t>(k)].solve(x.data(), work.data());
            store_solutions(k, x.data(), b);
        };
    });
}

void BatchedLU::Impl::factor_solve(const double* values, double* b) {
    factored_ = false;
    const size_t size = static_cast<size_t>(symbolic_->n()) * PackedLU::kMaxLanes;
    detail::parallel_for(static_cast<index_t>(packs_.size()), threads_, [&] {
        return [&, x = aligned_vector<double>(size), work = aligned_vector<double>(size)](index_t k) mutable {
            load_rhs(k, b, x.data());
            factor_pack(k, values, x.data(), work.data());
            store_solutions(k, x.data(), b);
        };
    });
    factored_ = true;
}

BatchedLU::BatchedLU(const CsrView& pattern, index_t batch, Ordering ordering, const std::optional<GridShape>& grid,
                     int threads, double pivot_tolerance)
    : BatchedLU(analyse_for_packs(pattern, ordering, grid), batch, threads, pivot_tolerance) {}

BatchedLU::BatchedLU(std::shared_ptr<const SymbolicLU> symbolic, index_t batch, int threads, double pivot_tolerance)
    : impl_(std::make_unique<Impl>(std::move(symbolic), batch, threads, pivot_tolerance)) {}
BatchedLU::~BatchedLU() = default;
BatchedLU::BatchedLU(BatchedLU&&) noexcept = default;
BatchedLU& BatchedLU::operator=(BatchedLU&&) noexcept = default;

namespace {

void expect_count(std::size_t count, std::size_t expected, const char* what, const char* shape) {
    if (count != expected)
        throw std::invalid_argument(std::string("BatchedLU needs ") + what + " of shape " + shape + ": " +
                                    std::to_string(expected) + " values, got " + std::to_string(count));
}

}  // namespace

void BatchedLU::factor(const double* values, std::size_t count) {
    expect_count(count, static_cast<std::size_t>(impl_->batch_) * static_cast<std::size_t>(impl_->symbolic_->nnz_matrix()),
                 "values", "(batch, nnz_matrix)");
    impl_->factor(values);
}

void BatchedLU::solve(double* b, std::size_t count) const {
    expect_count(count, static_cast<std::size_t>(impl_->batch_) * static_cast<std::size_t>(impl_->symbolic_->n()),
                 "right-hand sides", "(batch, n)");
    impl_->solve(b);
}

void BatchedLU::factor_solve(const double* values, std::size_t values_count, double* b, std::size_t b_count) {
    expect_count(values_count,
                 static_cast<std::size_t>(impl_->batch_) * static_cast<std::size_t>(impl_->symbolic_->nnz_matrix()),
                 "values", "(batch, nnz_matrix)");
    expect_count(b_count, static_cast<std::size_t>(impl_->batch_) * static_cast<std::size_t>(impl_->symbolic_->n()),
                 "right-hand sides", "(batch, n)");
    impl_->factor_solve(values, b);
}

index_t BatchedLU::batch() const { return impl_->batch_; }
int BatchedLU::threads() const { return impl_->threads_; }
index_t BatchedLU::lanes() const {
    index_t widest = 0;
    for (const Pack& p : impl_->plan_) widest = std::max(widest, p.lanes);
    return widest;
}
const SymbolicLU& BatchedLU::symbolic() const { return *impl_->symbolic_; }
bool BatchedLU::factored() const { return impl_->factored_; }

}  // namespace fpscore
