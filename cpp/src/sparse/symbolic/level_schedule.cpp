#include "sparse/symbolic/level_schedule.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace fpscore::detail {

LevelSchedule level_schedule(const SymbolicPlan& plan) {
    const index_t n = plan.n;
    std::vector<index_t> level(static_cast<size_t>(n), 0);
    index_t top = 0;
    for (index_t i = 0; i < n; ++i) {
        index_t lv = 0;
        for (offset_t p = plan.row_ptr[i]; p < plan.diag[i]; ++p) {
            const index_t k = plan.cols[p];
            lv = std::max(lv, level[k] + 1);
            // Closure under fill: every column of U(k) lies in row i, in the same order.
            offset_t q = p + 1;
            for (offset_t u = plan.diag[k] + 1; u < plan.row_ptr[k + 1]; ++u) {
                while (q < plan.row_ptr[i + 1] && plan.cols[q] < plan.cols[u]) ++q;
                if (q == plan.row_ptr[i + 1] || plan.cols[q] != plan.cols[u])
                    throw std::invalid_argument("level_schedule: the factor pattern is not closed under fill (row " +
                                                std::to_string(i) + " lacks column " +
                                                std::to_string(plan.cols[u]) + " of row " + std::to_string(k) + ")");
            }
        }
        level[i] = lv;
        top = std::max(top, lv);
    }
    LevelSchedule s;
    s.level_ptr.assign(static_cast<size_t>(n > 0 ? top + 2 : 1), 0);
    for (index_t i = 0; i < n; ++i) ++s.level_ptr[level[i] + 1];
    for (size_t k = 1; k < s.level_ptr.size(); ++k) s.level_ptr[k] += s.level_ptr[k - 1];
    s.rows.resize(static_cast<size_t>(n));
    std::vector<offset_t> next(s.level_ptr.begin(), s.level_ptr.end() - 1);
    for (index_t i = 0; i < n; ++i) s.rows[next[level[i]]++] = i;
    return s;
}

}  // namespace fpscore::detail
