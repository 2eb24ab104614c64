// fpscore::fp in one include: the log-density Fokker–Planck solver.
#pragma once

#include "fpscore/errors.hpp"
#include "fpscore/fp/solver.hpp"
#include "fpscore/version.hpp"
