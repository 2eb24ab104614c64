// What every chunk of a device solve reads and nothing changes: the symbolic plan of the
// stencil's pattern as flat arrays, its level schedule, where each stencil coefficient goes
// in the factors, and the ghost ring. Built once per (grid, boundary) on the host and copied
// to the device once.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fpscore/fp/solver.hpp"
#include "sparse/symbolic/symbolic_plan.hpp"

namespace fpscore::cuda_detail {

struct ChunkPlan {
    std::int32_t rows = 0, cols = 0;  // H, W
    Boundary boundary = Boundary::Zero;
    std::shared_ptr<const detail::SymbolicPlan> symbolic;  // row-by-row elimination (no dense fronts)
    std::vector<std::int32_t> level_rows;                   // the level schedule (level_schedule.hpp)
    std::vector<std::int64_t> level_ptr;
    std::vector<std::int64_t> positions;   // (cells, 5): factor position of each stencil coefficient, -1: a ghost
    std::vector<std::int32_t> ring;        // the ghost ring's padded positions (Stencil::ring)
    std::vector<std::int32_t> ring_source; // and the interior node each copies, -1: a known value

    std::int64_t cells() const { return static_cast<std::int64_t>(rows) * cols; }
    std::int64_t padded_cells() const { return (static_cast<std::int64_t>(rows) + 2) * (cols + 2); }
    std::int64_t nnz_factors() const { return symbolic->nnz_factors(); }
    std::int32_t levels() const { return static_cast<std::int32_t>(level_ptr.size()) - 1; }
};

// The plan of an H×W grid with `boundary` (the pattern does not depend on h). Ordered as the
// CPU's SparseLU orders one matrix (nested dissection on grids), eliminated row by row.
std::shared_ptr<const ChunkPlan> make_chunk_plan(std::int32_t rows, std::int32_t cols, Boundary boundary);

}  // namespace fpscore::cuda_detail
