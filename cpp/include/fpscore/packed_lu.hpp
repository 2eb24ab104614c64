// Numeric LU of several matrices with one sparsity pattern at once.
//
// The values of kLanes matrices are interleaved (entry p of lane l at p * kLanes + l),
// so every multiply-add of the elimination is one SIMD instruction across the lanes
// and the index arrays of the symbolic plan are read once for all of them. This is
// the path the Fokker–Planck solver takes: all channels, images, time steps and
// iterations share one pattern.
#pragma once

#include <memory>
#include <vector>

#include "fpscore/sparse_lu.hpp"

namespace fpscore {

class PackedLU {
public:
    static constexpr index_t kLanes = 4;  // one AVX2 register of doubles; 8 measured slower

    explicit PackedLU(std::shared_ptr<const SymbolicLU> symbolic,
                      double pivot_tolerance = SparseLU::kDefaultPivotTolerance);

    // Interleaved factor values, nnz_factors() * kLanes. To assemble directly: zero them,
    // add entry p of lane l at matrix_to_factor()[p] * kLanes + l, then factor_assembled().
    std::vector<double>& values() { return values_; }
    const std::vector<double>& values() const { return values_; }

    // Scatters lane l's values (CSR order of the analysed matrix) from a_values[l] for
    // l < active and factorises them.
    void factor(const double* const* a_values, index_t active);

    // Factorises lanes [0, active) of values(); the other lanes are set to copies of lane 0
    // so that they stay finite. Throws SingularMatrixError naming the first bad lane.
    void factor_assembled(index_t active = kLanes);

    // Solves in place for x (n, kLanes) interleaved: column l is lane l's right-hand side.
    // `work` needs n * kLanes entries.
    void solve(double* x, double* work) const;

    const SymbolicLU& symbolic() const { return *symbolic_; }
    bool factored() const { return factored_; }
    // The lane whose pivot failed in the last factorisation that threw.
    index_t failed_lane() const { return failed_lane_; }

private:
    std::shared_ptr<const SymbolicLU> symbolic_;
    double pivot_tolerance_;
    std::vector<double> values_;
    std::vector<double> inv_pivots_;  // n * kLanes reciprocals of the pivots
    std::vector<double> row_norms_;   // n * kLanes: row norms (dense fronts) or the dense work row
    std::vector<double> front_;       // the dense front of one supernode
    std::vector<double> arena_;       // Schur complements waiting for their parent
    index_t failed_lane_ = -1;
    bool factored_ = false;
};

}  // namespace fpscore
