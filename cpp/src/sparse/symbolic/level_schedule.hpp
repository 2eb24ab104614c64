// The level schedule of a row-by-row factorisation (private header): row i's level is one more
// than the highest level of the rows k its L part uses (L(i, k) != 0), so the rows of one
// level are independent and can be eliminated together, and so can their rows of the forward
// solve; the backward solve runs the levels in reverse (U(i, j) != 0 only for rows j of higher
// levels, the pattern being symmetric). For a device backend, which runs a level per launch.
#pragma once

#include <vector>

#include "sparse/symbolic/symbolic_plan.hpp"

namespace fpscore::detail {

struct LevelSchedule {
    std::vector<index_t> rows;        // the factor rows, level by level (ascending within a level)
    std::vector<offset_t> level_ptr;  // level k holds rows[level_ptr[k] .. level_ptr[k+1])
    index_t levels() const { return static_cast<index_t>(level_ptr.size()) - 1; }
};

// The schedule of plan's factor pattern. Throws std::invalid_argument when the pattern is not
// closed under fill (a row k's U part not within the pattern of a row i with L(i, k) != 0),
// which the row-by-row elimination needs.
LevelSchedule level_schedule(const SymbolicPlan& plan);

}  // namespace fpscore::detail
