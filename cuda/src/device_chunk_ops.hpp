// ChunkOps on a CUDA device: each operation a few kernel launches on one stream, the buffers in
// device memory (private header; host-compilable, the kernels live in device_chunk_ops.cu).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "chunk_ops.hpp"
#include "chunk_plan.hpp"
#include "device_runtime.hpp"

namespace fpscore::cuda_detail {

// A ChunkPlan's arrays in device memory, copied once per (grid, boundary, device).
struct DevicePlan {
    explicit DevicePlan(const ChunkPlan& plan);
    DeviceBuffer row_ptr, cols, diag, perm, level_rows, positions, ring, ring_source;
};

class DeviceChunkOps final : public ChunkOps {
public:
    // pb and m0 (B, H, W, host memory) stay alive while the object is used. max_chunk: most
    // members per chunk (0: what fits in 80 % of the free device memory).
    DeviceChunkOps(std::shared_ptr<const ChunkPlan> plan, std::shared_ptr<const DevicePlan> device_plan,
                   const FPProblem& pb, ArrayView m0, const FPOptions& opt, std::int32_t max_chunk,
                   double pivot_tolerance);

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

    // Bytes of device memory one member of a chunk needs.
    static std::size_t bytes_per_member(const ChunkPlan& plan, const FPProblem& pb, bool policy);

private:
    double* level(const DeviceBuffer& levels, std::int32_t n) const;
    void pad(const double* field, std::int32_t n);
    Changes read_changes();

    std::shared_ptr<const ChunkPlan> plan_;
    std::shared_ptr<const DevicePlan> device_plan_;
    const FPProblem& pb_;
    ArrayView m0_;
    bool upwind_;
    bool policy_;
    double pivot_tolerance_;
    std::int32_t capacity_ = 0;
    std::int32_t first_ = 0, count_ = 0;
    // Per chunk, sized for capacity_ members.
    DeviceBuffer levels_, sweep_, iterate_, correction_, work_, padded_, factors_, inv_pivots_, norms_, staging_,
        ghosts_, mask_, maxima_, fail_rows_;
    // Shared by the members: g, drift and its divergence at every level.
    DeviceBuffer drift_, drift_div_;
};

}  // namespace fpscore::cuda_detail
