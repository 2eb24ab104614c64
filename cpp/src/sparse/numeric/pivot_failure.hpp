// The message of a SingularMatrixError from a static-pivoting factorisation (private header).
#pragma once

#include <string>

#include "sparse/symbolic/symbolic_plan.hpp"

namespace fpscore::detail {

// Elimination step `row` of `plan` met pivot u_ii with max_j |a_ij| = norm, tolerance `tolerance`.
std::string pivot_failure_message(const SymbolicPlan& plan, index_t row, double pivot, double norm,
                                  double tolerance);

}  // namespace fpscore::detail
