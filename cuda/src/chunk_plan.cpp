#include "chunk_plan.hpp"

#include "fp/stencil.hpp"
#include "sparse/symbolic/level_schedule.hpp"

namespace fpscore::cuda_detail {

std::shared_ptr<const ChunkPlan> make_chunk_plan(std::int32_t rows, std::int32_t cols, Boundary boundary) {
    const detail::Stencil stencil(Grid{rows, cols, 1.0}, boundary);
    auto plan = std::make_shared<ChunkPlan>();
    plan->rows = rows;
    plan->cols = cols;
    plan->boundary = boundary;
    plan->symbolic = detail::analyse_pattern(stencil.pattern(), Ordering::Automatic, stencil.grid_shape(),
                                             detail::Elimination::RowByRow);
    const detail::LevelSchedule schedule = detail::level_schedule(*plan->symbolic);
    plan->level_rows.assign(schedule.rows.begin(), schedule.rows.end());
    plan->level_ptr.assign(schedule.level_ptr.begin(), schedule.level_ptr.end());
    const auto& to_factor = plan->symbolic->matrix_to_factor;
    plan->positions.resize(stencil.slots().size());
    for (size_t k = 0; k < stencil.slots().size(); ++k) {
        const offset_t slot = stencil.slots()[k];
        plan->positions[k] = slot >= 0 ? to_factor[static_cast<size_t>(slot)] : -1;
    }
    plan->ring.assign(stencil.ring().begin(), stencil.ring().end());
    plan->ring_source.assign(stencil.ring_source().begin(), stencil.ring_source().end());
    return plan;
}

}  // namespace fpscore::cuda_detail
