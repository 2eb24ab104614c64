// Umbrella header of the fpscore C++ library.
#pragma once

#include "fpscore/batched_lu.hpp"
#include "fpscore/csr.hpp"
#include "fpscore/errors.hpp"
#include "fpscore/fp_solver.hpp"
#include "fpscore/ordering.hpp"
#include "fpscore/packed_lu.hpp"
#include "fpscore/sparse_lu.hpp"
#include "fpscore/version.hpp"
