#include "sparse/numeric/pivot_failure.hpp"

#include <cmath>
#include <sstream>

namespace fpscore::detail {

std::string pivot_failure_message(const SymbolicPlan& plan, index_t row, double pivot, double norm,
                                  double tolerance) {
    std::ostringstream msg;
    msg << "zero, tiny or non-finite pivot in row " << plan.perm[row] << " (elimination step " << row << " of "
        << plan.n << "): |u_ii| = " << std::abs(pivot) << " against " << tolerance
        << " * max_j |a_ij| = " << tolerance * norm
        << "; the matrix is singular, not finite, or too ill-conditioned for static (diagonal) pivoting";
    return msg.str();
}

}  // namespace fpscore::detail
