// The control flow of a batched Fokker–Planck solve on a ChunkOps executor (private header):
// the batch in chunks, each step's Picard iterations (or the policy sweeps), when to
// refactorise, convergence and the errors — the CPU solver's rules (cpp/src/fp/solver.cpp),
// applied to a whole chunk at once. Host code: only the executor's operations run on the
// device, and only flags and per-member maxima come back per iteration.
#pragma once

#include "chunk_ops.hpp"
#include "fpscore/fp/solver.hpp"
#include "sparse/symbolic/symbolic_plan.hpp"

namespace fpscore::cuda_detail {

// Solves the (validated) problem chunk by chunk on `ops`, whose factors have `plan`'s pattern
// (for the messages of pivot failures, found with `pivot_tolerance`).
FPSolution solve_in_chunks(const FPProblem& pb, const FPOptions& opt, ChunkOps& ops, const detail::SymbolicPlan& plan,
                           double pivot_tolerance);

}  // namespace fpscore::cuda_detail
