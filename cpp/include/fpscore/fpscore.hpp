// Umbrella header of the fpscore C++ library (fpscore::core): the sparse solvers and the
// Fokker–Planck solver.
#pragma once

#include "fpscore/fp.hpp"
#include "fpscore/sparse.hpp"
