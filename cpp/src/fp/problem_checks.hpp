// Checks of a Fokker–Planck problem at the public boundary, shared by every backend
// (private header): std::invalid_argument with what is wrong.
#pragma once

#include <cstddef>
#include <string>

#include "fpscore/fp/solver.hpp"

namespace fpscore::detail {

void require(bool ok, const std::string& message);
bool all_finite(const double* x, std::size_t count);
void validate_grid(const Grid& grid);
// A given array must hold exactly `expected` values (its shape's product).
void require_size(ArrayView a, std::size_t expected, const char* name, const char* shape);
// The whole problem, m0 and the options.
void validate_problem(const FPProblem& pb, ArrayView m0, const FPOptions& opt);

}  // namespace fpscore::detail
