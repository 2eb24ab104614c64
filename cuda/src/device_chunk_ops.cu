// The CUDA kernels of a chunk solve and the DeviceChunkOps that launches them. Every kernel maps
// consecutive threads to consecutive members of the chunk (the fastest index of every
// interleaved buffer), so that a warp reads and writes consecutive addresses. The per-node and
// per-row work is the host-tested code of fp_nodes.hpp and lu_rows.hpp.
#include "device_chunk_ops.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "fp_nodes.hpp"
#include "fpscore/cuda/solver.hpp"
#include "lu_rows.hpp"

namespace fpscore::cuda_detail {
namespace {

constexpr int kThreads = 256;
constexpr std::int32_t kNoFailure = 0x7f7f7f7f;  // a member's failing row before any fails
constexpr int kLanesPerBlock = 32, kRowsPerBlock = 8;  // the reductions' blocks: 32 members × 8 node groups

unsigned blocks_for(std::int64_t total) {
    return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>((total + kThreads - 1) / kThreads, 1 << 20)));
}

void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

#define FPSCORE_GRID_STRIDE(t, total)                                                                 \
    for (std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < (total); \
         t += static_cast<std::int64_t>(gridDim.x) * blockDim.x)

// (S, items) member-major -> (items, S) interleaved, and back.
__global__ void interleave_kernel(const double* src, double* dst, std::int64_t items, std::int64_t S) {
    FPSCORE_GRID_STRIDE(t, items * S) dst[t] = src[(t % S) * items + t / S];
}
__global__ void deinterleave_kernel(const double* src, double* dst, std::int64_t items, std::int64_t S) {
    FPSCORE_GRID_STRIDE(t, items * S) dst[(t % S) * items + t / S] = src[t];
}

__global__ void first_guess_kernel(std::int32_t n, const double* prev, const double* older, const double* oldest,
                                   double* iterate, std::int64_t size) {
    FPSCORE_GRID_STRIDE(k, size) iterate[k] = first_guess(n, prev[k], older[k], oldest[k]);
}

__global__ void pad_kernel(GridGeometry g, std::int64_t ring_size, const std::int32_t* ring,
                           const std::int32_t* source, const double* field, const double* ghosts, double* padded,
                           std::int64_t S) {
    const std::int64_t cells = g.cells();
    FPSCORE_GRID_STRIDE(t, (cells + ring_size) * S) {
        const std::int64_t item = t / S, lane = t % S;
        if (item < cells)
            pad_interior(g, item, field, padded, S, lane);
        else
            pad_ring(g, item - cells, ring, source, field, ghosts, padded, S, lane);
    }
}

__global__ void assemble_kernel(GridGeometry g, StepCoefficients s, const double* padded, const double* prev,
                                const double* drift, const double* drift_div, const std::int64_t* positions,
                                double* residual, double* factors, std::int64_t S) {
    FPSCORE_GRID_STRIDE(t, g.cells() * S)
    assemble_node(g, t / S, s, padded, prev, drift, drift_div, positions, residual, factors, S, t % S);
}

__global__ void factor_level_kernel(FactorPattern f, const std::int32_t* rows, std::int64_t count, double* factors,
                                    double* inv_pivots, double* norms, std::int32_t* fail_rows, double tolerance,
                                    std::int64_t S) {
    FPSCORE_GRID_STRIDE(t, count * S) {
        const std::int32_t i = rows[t / S];
        const std::int64_t lane = t % S;
        double pivot, norm;
        const bool ok = factor_row(f, i, factors, inv_pivots, S, lane, tolerance, &pivot, &norm);
        norms[static_cast<std::int64_t>(i) * S + lane] = norm;
        if (!ok) atomicMin(fail_rows + lane, i);
    }
}

__global__ void permute_in_kernel(const std::int32_t* perm, const double* x, double* work, std::int64_t n,
                                  std::int64_t S) {
    FPSCORE_GRID_STRIDE(t, n * S) work[t] = x[static_cast<std::int64_t>(perm[t / S]) * S + t % S];
}
__global__ void permute_out_kernel(const std::int32_t* perm, const double* work, double* x, std::int64_t n,
                                   std::int64_t S) {
    FPSCORE_GRID_STRIDE(t, n * S) x[static_cast<std::int64_t>(perm[t / S]) * S + t % S] = work[t];
}
__global__ void forward_level_kernel(FactorPattern f, const std::int32_t* rows, std::int64_t count,
                                     const double* factors, double* y, std::int64_t S) {
    FPSCORE_GRID_STRIDE(t, count * S) forward_row(f, rows[t / S], factors, y, S, t % S);
}
__global__ void backward_level_kernel(FactorPattern f, const std::int32_t* rows, std::int64_t count,
                                      const double* factors, const double* inv_pivots, double* x, std::int64_t S) {
    FPSCORE_GRID_STRIDE(t, count * S) backward_row(f, rows[t / S], factors, inv_pivots, x, S, t % S);
}

// max(largest, |x|) with NaN winning; the bits of a non-negative double order as the double.
__device__ double max_abs(double largest, double x) {
    const double m = fabs(x);
    return m > largest || isnan(m) ? m : largest;
}
__device__ void atomic_max_magnitude(unsigned long long* at, double magnitude) {
    atomicMax(at, static_cast<unsigned long long>(__double_as_longlong(magnitude)));
}

// The reductions' layout: member l = blockIdx.x * 32 + threadIdx.x, nodes p strided over
// blockIdx.y * 8 + threadIdx.y.
#define FPSCORE_MEMBER_NODES(l, p, S, cells)                                             \
    const std::int64_t l = static_cast<std::int64_t>(blockIdx.x) * kLanesPerBlock + threadIdx.x; \
    if (l >= (S)) return;                                                                 \
    for (std::int64_t p = static_cast<std::int64_t>(blockIdx.y) * kRowsPerBlock + threadIdx.y; p < (cells); \
         p += static_cast<std::int64_t>(gridDim.y) * kRowsPerBlock)

__global__ void correct_kernel(const std::uint8_t* live, const double* correction, double* iterate,
                               unsigned long long* maxima, std::int64_t cells, std::int64_t S) {
    double change = 0.0, scale = 0.0;
    FPSCORE_MEMBER_NODES(l, p, S, cells) {
        const std::int64_t k = p * S + l;
        const double d = live[l] != 0 ? correction[k] : 0.0;
        const double x = iterate[k] + d;
        iterate[k] = x;
        change = max_abs(change, d);
        scale = max_abs(scale, x);
    }
    atomic_max_magnitude(maxima + l, change);
    atomic_max_magnitude(maxima + S + l, scale);
}

__global__ void sweep_update_kernel(const double* correction, double* lagged, double* iterate,
                                    unsigned long long* maxima, std::int64_t cells, std::int64_t S) {
    double change = 0.0, scale = 0.0;
    FPSCORE_MEMBER_NODES(l, p, S, cells) {
        const std::int64_t k = p * S + l;
        const double x = lagged[k] + correction[k];
        change = max_abs(change, x - lagged[k]);
        scale = max_abs(scale, x);
        iterate[k] = x;
        lagged[k] = x;
    }
    atomic_max_magnitude(maxima + l, change);
    atomic_max_magnitude(maxima + S + l, scale);
}

__global__ void speed_kernel(GridGeometry g, double half_g2, const double* padded, const double* drift,
                             unsigned long long* maxima, std::int64_t S) {
    double largest = 0.0;
    FPSCORE_MEMBER_NODES(l, p, S, g.cells()) largest = max_abs(largest, squared_speed(g, p, half_g2, padded, drift, S, l));
    atomic_max_magnitude(maxima + l, largest);
}

__global__ void commit_kernel(const std::uint8_t* done, const double* sweep, double* levels, std::int64_t size,
                              std::int64_t S) {
    FPSCORE_GRID_STRIDE(k, size) if (done[k % S]) levels[k] = sweep[k];
}

__global__ void gradient_kernel(GridGeometry g, const double* padded, double* grad, std::int64_t S) {
    FPSCORE_GRID_STRIDE(t, g.cells() * S) gradient_node(g, t / S, padded, grad, S, t % S);
}

dim3 reduction_grid(std::int64_t S, std::int64_t cells) {
    const auto x = static_cast<unsigned>((S + kLanesPerBlock - 1) / kLanesPerBlock);
    const std::int64_t node_groups = (cells + kRowsPerBlock - 1) / kRowsPerBlock;
    const std::int64_t y = std::clamp<std::int64_t>(2048 / x, 1, std::min<std::int64_t>(node_groups, 65535));
    return dim3(x, static_cast<unsigned>(y));
}
const dim3 kReductionBlock(kLanesPerBlock, kRowsPerBlock);

template <class T>
DeviceBuffer upload(const std::vector<T>& v) {
    DeviceBuffer b(v.size() * sizeof(T));
    to_device(b.as<void>(), v.data(), v.size() * sizeof(T));
    return b;
}

}  // namespace

DevicePlan::DevicePlan(const ChunkPlan& plan)
    : row_ptr(upload(plan.symbolic->row_ptr)),
      cols(upload(plan.symbolic->cols)),
      diag(upload(plan.symbolic->diag)),
      perm(upload(plan.symbolic->perm)),
      level_rows(upload(plan.level_rows)),
      positions(upload(plan.positions)),
      ring(upload(plan.ring)),
      ring_source(upload(plan.ring_source)) {}

std::size_t DeviceChunkOps::bytes_per_member(const ChunkPlan& plan, const FPProblem& pb, bool policy) {
    const auto cells = static_cast<std::size_t>(plan.cells()), levels = static_cast<std::size_t>(pb.n_steps) + 1;
    std::size_t doubles = levels * cells * (policy ? 2 : 1)  // levels (and the sweep's)
                          + 3 * cells                        // iterate, correction, solve work
                          + static_cast<std::size_t>(plan.padded_cells()) + static_cast<std::size_t>(plan.nnz_factors()) +
                          2 * cells   // 1/u_ii, row norms
                          + 4 * cells;  // staging: gradients and their host layout
    if (pb.ghosts.given()) doubles += levels * static_cast<std::size_t>(plan.padded_cells());
    return doubles * sizeof(double) + 1 + 2 * sizeof(unsigned long long) + sizeof(std::int32_t);
}

DeviceChunkOps::DeviceChunkOps(std::shared_ptr<const ChunkPlan> plan, std::shared_ptr<const DevicePlan> device_plan,
                               const FPProblem& pb, ArrayView m0, const FPOptions& opt, std::int32_t max_chunk,
                               double pivot_tolerance)
    : plan_(std::move(plan)),
      device_plan_(std::move(device_plan)),
      pb_(pb),
      m0_(m0),
      upwind_(opt.scheme == Scheme::Upwind),
      policy_(opt.iteration == Iteration::Policy),
      pivot_tolerance_(pivot_tolerance) {
    const std::size_t per_member = bytes_per_member(*plan_, pb, policy_);
    std::size_t free_bytes = 0, total_bytes = 0;
    memory_info(&free_bytes, &total_bytes);
    const auto fits = static_cast<std::int64_t>(0.8 * static_cast<double>(free_bytes) / static_cast<double>(per_member));
    std::int64_t capacity = std::min<std::int64_t>(pb.batch, fits);
    if (max_chunk > 0) capacity = std::min<std::int64_t>(capacity, max_chunk);
    if (capacity < 1)
        throw cuda::DeviceMemoryError("one batch member of a " + std::to_string(plan_->rows) + "x" +
                                      std::to_string(plan_->cols) + " grid with " + std::to_string(pb.n_steps) +
                                      " steps needs " + std::to_string(per_member) + " bytes of device memory; " +
                                      std::to_string(free_bytes) + " are free");
    capacity_ = static_cast<std::int32_t>(capacity);
    const auto cap = static_cast<std::size_t>(capacity_), cells = static_cast<std::size_t>(plan_->cells());
    const auto levels = static_cast<std::size_t>(pb.n_steps) + 1, padded = static_cast<std::size_t>(plan_->padded_cells());
    constexpr std::size_t d = sizeof(double);
    levels_ = DeviceBuffer(levels * cells * cap * d);
    if (policy_) sweep_ = DeviceBuffer(levels * cells * cap * d);
    iterate_ = DeviceBuffer(cells * cap * d);
    correction_ = DeviceBuffer(cells * cap * d);
    work_ = DeviceBuffer(cells * cap * d);
    padded_ = DeviceBuffer(padded * cap * d);
    factors_ = DeviceBuffer(static_cast<std::size_t>(plan_->nnz_factors()) * cap * d);
    inv_pivots_ = DeviceBuffer(cells * cap * d);
    norms_ = DeviceBuffer(cells * cap * d);
    staging_ = DeviceBuffer(4 * cells * cap * d);
    if (pb.ghosts.given()) ghosts_ = DeviceBuffer(levels * padded * cap * d);
    mask_ = DeviceBuffer(cap);
    maxima_ = DeviceBuffer(2 * cap * sizeof(unsigned long long));
    fail_rows_ = DeviceBuffer(cap * sizeof(std::int32_t));
    if (pb.drift.given()) {
        drift_ = DeviceBuffer(pb.drift.size * d);
        to_device(drift_.as<void>(), pb.drift.data, pb.drift.size * d);
        drift_div_ = DeviceBuffer(pb.drift_div.size * d);
        to_device(drift_div_.as<void>(), pb.drift_div.data, pb.drift_div.size * d);
    }
}

double* DeviceChunkOps::level(const DeviceBuffer& levels, std::int32_t n) const {
    return levels.as<double>() + static_cast<std::int64_t>(n) * plan_->cells() * count_;
}

namespace {
GridGeometry geometry_of(const ChunkPlan& plan, double h) { return GridGeometry{plan.rows, plan.cols, h}; }
FactorPattern pattern_of(const DevicePlan& plan) {
    return {plan.row_ptr.as<std::int64_t>(), plan.cols.as<std::int32_t>(), plan.diag.as<std::int64_t>()};
}
}  // namespace

void DeviceChunkOps::begin(std::int32_t first, std::int32_t count) {
    first_ = first;
    count_ = count;
    const std::int64_t cells = plan_->cells(), S = count, PN = plan_->padded_cells();
    // Level 0: the members' m0, contiguous on the host, interleaved on the device.
    double* staged = staging_.as<double>();
    to_device(staged, m0_.data + static_cast<std::int64_t>(first) * cells, static_cast<std::size_t>(cells * S) * sizeof(double));
    interleave_kernel<<<blocks_for(cells * S), kThreads>>>(staged, levels_.as<double>(), cells, S);
    check_launch("interleave_kernel");
    // Their Dirichlet rings at every level: (N+1, count, H+2, W+2).
    if (pb_.ghosts.given())
        for (std::int32_t n = 0; n <= pb_.n_steps; ++n)
            to_device(ghosts_.as<double>() + static_cast<std::int64_t>(n) * S * PN,
                      pb_.ghosts.data + (static_cast<std::int64_t>(n) * pb_.batch + first) * PN,
                      static_cast<std::size_t>(S * PN) * sizeof(double));
    // The corners of the padded field are never written: zero once.
    check_cuda(cudaMemset(padded_.as<void>(), 0, padded_.bytes()), "cudaMemset");
}

void DeviceChunkOps::first_guess(std::int32_t n) {
    const std::int64_t size = plan_->cells() * count_;
    const double* prev = level(levels_, n - 1);
    const double* older = n >= 2 ? level(levels_, n - 2) : prev;
    const double* oldest = n >= 3 ? level(levels_, n - 3) : prev;
    first_guess_kernel<<<blocks_for(size), kThreads>>>(n, prev, older, oldest, iterate_.as<double>(), size);
    check_launch("first_guess_kernel");
}

void DeviceChunkOps::pad(const double* field, std::int32_t n) {
    const std::int64_t S = count_, R = static_cast<std::int64_t>(plan_->ring.size());
    const double* ghosts =
        pb_.ghosts.given() ? ghosts_.as<double>() + static_cast<std::int64_t>(n) * S * plan_->padded_cells() : nullptr;
    pad_kernel<<<blocks_for((plan_->cells() + R) * S), kThreads>>>(
        geometry_of(*plan_, pb_.grid.h), R, device_plan_->ring.as<std::int32_t>(),
        device_plan_->ring_source.as<std::int32_t>(), field, ghosts, padded_.as<double>(), S);
    check_launch("pad_kernel");
}

void DeviceChunkOps::assemble(std::int32_t n, bool policy, bool refactor) {
    const double* lagged = policy ? level(sweep_, n) : iterate_.as<double>();
    const double* prev = policy ? iterate_.as<double>() : level(levels_, n - 1);
    pad(lagged, n);
    const std::int64_t S = count_, cells = plan_->cells();
    if (refactor)
        check_cuda(cudaMemset(factors_.as<void>(), 0, static_cast<std::size_t>(plan_->nnz_factors() * S) * sizeof(double)),
                   "cudaMemset");
    const StepCoefficients step{0.5 * pb_.g[n] * pb_.g[n], 1.0 / (pb_.times[n] - pb_.times[n - 1]), upwind_};
    const double* drift = pb_.drift.given() ? drift_.as<double>() + static_cast<std::int64_t>(n) * 2 * cells : nullptr;
    const double* drift_div = pb_.drift.given() ? drift_div_.as<double>() + static_cast<std::int64_t>(n) * cells : nullptr;
    assemble_kernel<<<blocks_for(cells * S), kThreads>>>(geometry_of(*plan_, pb_.grid.h), step, padded_.as<double>(), prev,
                                                         drift, drift_div, device_plan_->positions.as<std::int64_t>(),
                                                         correction_.as<double>(),
                                                         refactor ? factors_.as<double>() : nullptr, S);
    check_launch("assemble_kernel");
}

PivotFailure DeviceChunkOps::factor() {
    const std::int64_t S = count_;
    // Every byte 0x7f: kNoFailure in each member's slot, above any row index (no host buffer).
    check_cuda(cudaMemset(fail_rows_.as<void>(), 0x7f, static_cast<std::size_t>(S) * sizeof(std::int32_t)),
               "cudaMemset");
    const FactorPattern f = pattern_of(*device_plan_);
    const std::int32_t* rows = device_plan_->level_rows.as<std::int32_t>();
    for (std::int32_t k = 0; k < plan_->levels(); ++k) {
        const std::int64_t begin = plan_->level_ptr[k], count = plan_->level_ptr[k + 1] - begin;
        factor_level_kernel<<<blocks_for(count * S), kThreads>>>(f, rows + begin, count, factors_.as<double>(),
                                                                 inv_pivots_.as<double>(), norms_.as<double>(),
                                                                 fail_rows_.as<std::int32_t>(), pivot_tolerance_, S);
        check_launch("factor_level_kernel");
    }
    std::vector<std::int32_t> fail_rows(static_cast<std::size_t>(S));
    to_host(fail_rows.data(), fail_rows_.as<void>(), fail_rows.size() * sizeof(std::int32_t));
    PivotFailure first;
    for (std::int64_t l = 0; l < S; ++l) {
        const std::int32_t row = fail_rows[l];
        if (row == kNoFailure) continue;
        first.member = static_cast<std::int32_t>(l);
        first.row = row;
        const std::int64_t diag = plan_->symbolic->diag[row];
        to_host(&first.pivot, factors_.as<double>() + diag * S + l, sizeof(double));
        to_host(&first.norm, norms_.as<double>() + static_cast<std::int64_t>(row) * S + l, sizeof(double));
        break;
    }
    return first;
}

void DeviceChunkOps::solve() {
    const std::int64_t S = count_, n = plan_->cells();
    const FactorPattern f = pattern_of(*device_plan_);
    const std::int32_t* rows = device_plan_->level_rows.as<std::int32_t>();
    const std::int32_t* perm = device_plan_->perm.as<std::int32_t>();
    permute_in_kernel<<<blocks_for(n * S), kThreads>>>(perm, correction_.as<double>(), work_.as<double>(), n, S);
    check_launch("permute_in_kernel");
    for (std::int32_t k = 0; k < plan_->levels(); ++k) {
        const std::int64_t begin = plan_->level_ptr[k], count = plan_->level_ptr[k + 1] - begin;
        forward_level_kernel<<<blocks_for(count * S), kThreads>>>(f, rows + begin, count, factors_.as<double>(),
                                                                  work_.as<double>(), S);
        check_launch("forward_level_kernel");
    }
    for (std::int32_t k = plan_->levels() - 1; k >= 0; --k) {
        const std::int64_t begin = plan_->level_ptr[k], count = plan_->level_ptr[k + 1] - begin;
        backward_level_kernel<<<blocks_for(count * S), kThreads>>>(f, rows + begin, count, factors_.as<double>(),
                                                                   inv_pivots_.as<double>(), work_.as<double>(), S);
        check_launch("backward_level_kernel");
    }
    permute_out_kernel<<<blocks_for(n * S), kThreads>>>(perm, work_.as<double>(), correction_.as<double>(), n, S);
    check_launch("permute_out_kernel");
}

Changes DeviceChunkOps::read_changes() {
    const auto S = static_cast<std::size_t>(count_);
    std::vector<unsigned long long> bits(2 * S);
    to_host(bits.data(), maxima_.as<void>(), bits.size() * sizeof(unsigned long long));
    Changes c{std::vector<double>(S), std::vector<double>(S)};
    std::memcpy(c.change.data(), bits.data(), S * sizeof(double));
    std::memcpy(c.scale.data(), bits.data() + S, S * sizeof(double));
    return c;
}

Changes DeviceChunkOps::correct(const std::vector<std::uint8_t>& live) {
    const std::int64_t S = count_, cells = plan_->cells();
    to_device(mask_.as<void>(), live.data(), live.size());
    check_cuda(cudaMemset(maxima_.as<void>(), 0, 2 * static_cast<std::size_t>(S) * sizeof(unsigned long long)), "cudaMemset");
    correct_kernel<<<reduction_grid(S, cells), kReductionBlock>>>(mask_.as<std::uint8_t>(), correction_.as<double>(),
                                                                  iterate_.as<double>(),
                                                                  maxima_.as<unsigned long long>(), cells, S);
    check_launch("correct_kernel");
    return read_changes();
}

void DeviceChunkOps::store_level(std::int32_t n) {
    check_cuda(cudaMemcpy(level(levels_, n), iterate_.as<double>(),
                          static_cast<std::size_t>(plan_->cells() * count_) * sizeof(double), cudaMemcpyDeviceToDevice),
               "cudaMemcpy on the device");
}

void DeviceChunkOps::sweep_init() {
    const auto bytes = static_cast<std::size_t>(plan_->cells() * count_) * sizeof(double);
    for (std::int32_t n = 0; n <= pb_.n_steps; ++n)
        check_cuda(cudaMemcpy(level(sweep_, n), level(levels_, 0), bytes, cudaMemcpyDeviceToDevice),
                   "cudaMemcpy on the device");
}

void DeviceChunkOps::sweep_begin() {
    check_cuda(cudaMemcpy(iterate_.as<double>(), level(sweep_, 0),
                          static_cast<std::size_t>(plan_->cells() * count_) * sizeof(double), cudaMemcpyDeviceToDevice),
               "cudaMemcpy on the device");
}

Changes DeviceChunkOps::sweep_update(std::int32_t n) {
    const std::int64_t S = count_, cells = plan_->cells();
    check_cuda(cudaMemset(maxima_.as<void>(), 0, 2 * static_cast<std::size_t>(S) * sizeof(unsigned long long)), "cudaMemset");
    sweep_update_kernel<<<reduction_grid(S, cells), kReductionBlock>>>(correction_.as<double>(), level(sweep_, n),
                                                                       iterate_.as<double>(),
                                                                       maxima_.as<unsigned long long>(), cells, S);
    check_launch("sweep_update_kernel");
    return read_changes();
}

void DeviceChunkOps::commit(const std::vector<std::uint8_t>& done) {
    const std::int64_t S = count_, size = static_cast<std::int64_t>(pb_.n_steps) * plan_->cells() * S;
    to_device(mask_.as<void>(), done.data(), done.size());
    commit_kernel<<<blocks_for(size), kThreads>>>(mask_.as<std::uint8_t>(), level(sweep_, 1), level(levels_, 1), size, S);
    check_launch("commit_kernel");
}

std::vector<double> DeviceChunkOps::speeds(std::int32_t n, bool policy) {
    const std::int64_t S = count_, cells = plan_->cells();
    pad(policy ? level(sweep_, n) : iterate_.as<double>(), n);
    check_cuda(cudaMemset(maxima_.as<void>(), 0, static_cast<std::size_t>(S) * sizeof(unsigned long long)), "cudaMemset");
    const double* drift = pb_.drift.given() ? drift_.as<double>() + static_cast<std::int64_t>(n) * 2 * cells : nullptr;
    speed_kernel<<<reduction_grid(S, cells), kReductionBlock>>>(geometry_of(*plan_, pb_.grid.h), 0.5 * pb_.g[n] * pb_.g[n],
                                                                padded_.as<double>(), drift,
                                                                maxima_.as<unsigned long long>(), S);
    check_launch("speed_kernel");
    std::vector<unsigned long long> bits(static_cast<std::size_t>(S));
    to_host(bits.data(), maxima_.as<void>(), bits.size() * sizeof(unsigned long long));
    std::vector<double> speed(static_cast<std::size_t>(S));
    std::memcpy(speed.data(), bits.data(), speed.size() * sizeof(double));
    for (double& v : speed) v = std::sqrt(v);
    return speed;
}

void DeviceChunkOps::finish(double* m, double* score) {
    const std::int64_t S = count_, cells = plan_->cells(), B = pb_.batch;
    double* grad = staging_.as<double>();             // (2 cells, S) interleaved
    double* host_layout = grad + 2 * cells * S;       // (S, 2 cells) or (S, cells)
    for (std::int32_t n = 0; n <= pb_.n_steps; ++n) {
        const double* field = level(levels_, n);
        const std::int64_t first_member = static_cast<std::int64_t>(n) * B + first_;
        deinterleave_kernel<<<blocks_for(cells * S), kThreads>>>(field, host_layout, cells, S);
        check_launch("deinterleave_kernel");
        to_host(m + first_member * cells, host_layout, static_cast<std::size_t>(cells * S) * sizeof(double));
        pad(field, n);
        gradient_kernel<<<blocks_for(cells * S), kThreads>>>(geometry_of(*plan_, pb_.grid.h), padded_.as<double>(), grad, S);
        check_launch("gradient_kernel");
        deinterleave_kernel<<<blocks_for(2 * cells * S), kThreads>>>(grad, host_layout, 2 * cells, S);
        check_launch("deinterleave_kernel");
        to_host(score + first_member * 2 * cells, host_layout, static_cast<std::size_t>(2 * cells * S) * sizeof(double));
    }
}

}  // namespace fpscore::cuda_detail
