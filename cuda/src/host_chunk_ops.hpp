// ChunkOps on the host: every operation as loops over the per-node and per-row code that the
// CUDA kernels run (fp_nodes.hpp, lu_rows.hpp), in the order of the device's level schedule.
// The reference that lets the unit tests check the device algorithm against the CPU solver on
// machines without a GPU (private header).
#pragma once

#include <memory>
#include <vector>

#include "chunk_ops.hpp"
#include "chunk_plan.hpp"
#include "fp_nodes.hpp"
#include "lu_rows.hpp"

namespace fpscore::cuda_detail {

class HostChunkOps final : public ChunkOps {
public:
    // m0 (B, H, W) and pb stay alive while the object is used.
    HostChunkOps(std::shared_ptr<const ChunkPlan> plan, const FPProblem& pb, ArrayView m0, Scheme scheme,
                 std::int32_t capacity, double pivot_tolerance);

    std::int32_t capacity() const override { return capacity_; }
    void begin(std::int32_t first, std::int32_t count) override;
    void first_guess(std::int32_t n) override;
    void assemble(std::int32_t n, bool policy, bool refactor) override;
    PivotFailure factor() override;
    void solve() override;
    Changes correct(const std::vector<std::uint8_t>& live) override;
    void store_level(std::int32_t n) override;
    void sweep_init() override;
    void sweep_begin() override;
    Changes sweep_update(std::int32_t n) override;
    void commit(const std::vector<std::uint8_t>& done) override;
    std::vector<double> speeds(std::int32_t n, bool policy) override;
    void finish(double* m, double* score) override;

private:
    double* level(std::vector<double>& levels, std::int32_t n) { return levels.data() + n * field_size(); }
    std::int64_t field_size() const { return plan_->cells() * count_; }
    // field padded with its ghost ring at level n (member l's Dirichlet ring).
    void pad(const double* field, std::int32_t n);
    const double* drift(std::int32_t n) const;
    const double* drift_div(std::int32_t n) const;

    std::shared_ptr<const ChunkPlan> plan_;
    const FPProblem& pb_;
    ArrayView m0_;
    bool upwind_;
    std::int32_t capacity_;
    double pivot_tolerance_;
    GridGeometry geometry_;
    FactorPattern pattern_;
    std::int32_t first_ = 0, count_ = 0;
    std::vector<double> levels_, sweep_, iterate_, correction_, padded_, factors_, inv_pivots_, norms_, work_;
};

// The device algorithm run on the host: validates, plans the grid and solves in chunks of
// `capacity` members with HostChunkOps (pivot tolerance as SparseLU's default).
FPSolution solve_on_host(const FPProblem& pb, ArrayView m0, const FPOptions& opt, std::int32_t capacity);

}  // namespace fpscore::cuda_detail
