// fpscore::cuda::solve_log_density: checks the problem as the CPU solver does, plans the grid
// (once per grid, boundary and device: the plan and its device copy are kept), then solves the
// batch chunk by chunk on the device.
#include "fpscore/cuda/solver.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "chunk_driver.hpp"
#include "chunk_plan.hpp"
#include "device_chunk_ops.hpp"
#include "common/recent_cache.hpp"
#include "device_runtime.hpp"
#include "fp/problem_checks.hpp"
#include "fpscore/sparse/sparse_lu.hpp"

namespace fpscore::cuda {
namespace {

struct Planned {
    std::shared_ptr<const cuda_detail::ChunkPlan> plan;
    std::shared_ptr<const cuda_detail::DevicePlan> device_plan;
};

// The plans (host and device copies) of the most recently used grids, boundaries and devices,
// as the CPU solver keeps its analyses.
Planned plan_for(const Grid& grid, Boundary boundary, int device) {
    static detail::RecentCache<std::tuple<index_t, index_t, Boundary, int>, Planned, 8> cache;
    return cache.get(std::make_tuple(grid.rows, grid.cols, boundary, device), [&] {
        Planned made;
        made.plan = cuda_detail::make_chunk_plan(grid.rows, grid.cols, boundary);
        made.device_plan = std::make_shared<const cuda_detail::DevicePlan>(*made.plan);
        return made;
    });
}

}  // namespace

FPSolution solve_log_density(const FPProblem& problem, ArrayView m0, const FPOptions& options,
                             const DeviceOptions& device) {
    detail::validate_problem(problem, m0, options);
    if (device.max_chunk < 0)
        throw std::invalid_argument("max_chunk must be >= 0 (0: as many as fit), got " + std::to_string(device.max_chunk));
    const int devices = device_count();
    if (devices == 0)
        throw CudaError("no CUDA device is available (cudaGetDeviceCount found none): use the CPU backend");
    if (device.device < 0 || device.device >= devices)
        throw std::invalid_argument("device must lie in [0, " + std::to_string(devices - 1) + "], got " +
                                    std::to_string(device.device));
    cuda_detail::set_device(device.device);
    const Planned planned = plan_for(problem.grid, problem.boundary, device.device);
    const double tolerance = SparseLU::kDefaultPivotTolerance;
    cuda_detail::DeviceChunkOps ops(planned.plan, planned.device_plan, problem, m0, options, device.max_chunk,
                                    tolerance);
    return cuda_detail::solve_in_chunks(problem, options, ops, *planned.plan->symbolic, tolerance);
}

}  // namespace fpscore::cuda
