// When the Fokker–Planck solver refactorises during a Picard step (private header), shared by
// every backend.
#pragma once

#include <algorithm>

namespace fpscore::detail {

// With a factorisation kept from an earlier matrix, each iteration is the defect
// correction m_k = m_{k-1} + F⁻¹ (b − A(m_{k-1}) m_{k-1}): the same fixed point as
// Picard's m_k = A(m_{k-1})⁻¹ b (identical when F = A(m_{k-1})), at the cost of a
// triangular solve instead of a factorisation. F is refreshed when the iteration's
// contraction shows it has gone stale.
inline constexpr double kStaleContraction = 0.1;  // measured: fewer iterations than 0.25, fewer factorisations than 0.05
// A contraction measured with a fresh F is Picard's own rate, which no refactorisation can
// beat: a kept F is stale only when it contracts clearly slower than that (on steep inputs,
// e.g. a unit-mass log-density against a zero boundary, Picard alone contracts by more than
// kStaleContraction, and the plain threshold would refactorise at every iteration). That
// rate carries over from step to step (it changes slowly with t), and a kept F is never allowed to contract slower than kStaleAtMost. Measured on a unit-mass 3×32²
// log-density: 2.4× fewer CPU seconds, unchanged for a mean-one density (bench/RESULTS.md).
inline constexpr double kStaleAgainstFresh = 2.0, kStaleAtMost = 0.5;

inline double stale_threshold(double fresh_ratio) {
    return std::min(kStaleAtMost, std::max(kStaleContraction, kStaleAgainstFresh * fresh_ratio));
}

}  // namespace fpscore::detail
