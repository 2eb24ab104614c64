// fpscore::sparse in one include: orderings, symbolic analysis, sparse and batched LU, and
// GeneralLU for any nonsingular matrix.
#pragma once

#include "fpscore/errors.hpp"
#include "fpscore/sparse/batched_lu.hpp"
#include "fpscore/sparse/csr.hpp"
#include "fpscore/sparse/general_lu.hpp"
#include "fpscore/sparse/ordering.hpp"
#include "fpscore/sparse/sparse_lu.hpp"
#include "fpscore/sparse/symbolic_lu.hpp"
#include "fpscore/version.hpp"
