// Numeric LU of several matrices with one sparsity pattern at once (private header: the
// engine of BatchedLU and of the Fokker–Planck solver).
//
// The values of `lanes` matrices are interleaved (entry p of lane l at p * lanes + l),
// so every multiply-add of the elimination is one SIMD instruction across the lanes
// and the index arrays of the symbolic plan are read once for all of them. This is
// the path the Fokker–Planck solver takes: all channels, images, time steps and
// iterations share one pattern.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "common/aligned_vector.hpp"
#include "fpscore/sparse/sparse_lu.hpp"
#include "fpscore/sparse/symbolic_lu.hpp"
#include "sparse/numeric/block_schedule.hpp"
#include "sparse/symbolic/symbolic_plan.hpp"

namespace fpscore {

namespace detail {
struct FrontAssembly;
}

// Packs of interleaved matrices of order up to this (5-point grids up to 64²) factorise
// faster with a minimum-degree ordering than with nested dissection: fewer flops (0.48
// against 0.72 Mflop at 32²) outweigh its smaller supernodes. Measured per system, 8
// lanes: 3 % (24²), 11 % (32²), 16 % (40²), 2 % (64²) faster; 26 % slower at 80².
// (One matrix, SparseLU, is faster with nested dissection at every size.)
inline constexpr index_t kPackMinimumDegreeUpTo = 64 * 64;

// The ordering for packs when `requested` is asked for: Automatic becomes minimum degree up
// to kPackMinimumDegreeUpTo unknowns; any other request is kept.
inline Ordering pack_ordering(Ordering requested, index_t n) {
    return requested == Ordering::Automatic && n <= kPackMinimumDegreeUpTo ? Ordering::MinimumDegree : requested;
}

// The analysis for packs of `pattern`: pack_ordering(requested), and dense fronts from
// kDenseFrontsFrom unknowns on (what BatchedLU and the Fokker–Planck solver use).
std::shared_ptr<const SymbolicLU> analyse_for_packs(const CsrView& pattern, Ordering requested = Ordering::Automatic,
                                                    const std::optional<GridShape>& grid = std::nullopt);

class PackedLU {
public:
    // Supported lane counts: one AVX-512 register of doubles, or one AVX2 register (on CPUs
    // without AVX-512, and for packs of at most four matrices, which would leave half of a
    // wide register idle).
    static constexpr index_t kMaxLanes = 8;
    static constexpr index_t kNarrowLanes = 4;

    explicit PackedLU(std::shared_ptr<const SymbolicLU> symbolic, index_t lanes = kMaxLanes,
                      double pivot_tolerance = SparseLU::kDefaultPivotTolerance);

    index_t lanes() const { return lanes_; }

    // Interleaved matrix values, nnz_matrix() * lanes(), in the analysed CSR order. To
    // assemble directly: zero them, add entry p of lane l at p * lanes() + l, then
    // factor_matrix().
    aligned_vector<double>& matrix_values() { return matrix_; }
    const aligned_vector<double>& matrix_values() const { return matrix_; }

    // Copies lane l's values (CSR order of the analysed matrix) from a_values[l] for
    // l < active and factorises them. Throws std::invalid_argument for NaN or inf values.
    void factor(const double* const* a_values, index_t active);

    // Factorises lanes [0, active) of matrix_values(); the other lanes are set to copies of
    // lane 0 so that they stay finite. Throws SingularMatrixError for the first bad lane
    // (failed_lane() tells which).
    void factor_matrix(index_t active) { factor_matrix(active, nullptr); }

    // Solves in place for x (n, lanes()) interleaved: column l is lane l's right-hand side.
    // `work` needs n * lanes() entries; both should be cache-line aligned for speed.
    void solve(double* x, double* work) const;

    // factor(a_values, active) then solve(x, work), with the forward substitution done while
    // the factorisation has each row at hand.
    void factor_solve(const double* const* a_values, index_t active, double* x, double* work);

    const SymbolicLU& symbolic() const { return *symbolic_; }
    bool factored() const { return factored_; }
    // The lane whose pivot failed in the last factorisation that threw.
    index_t failed_lane() const { return failed_lane_; }

private:
    void interleave_matrix(const double* const* a_values, index_t active);
    // factor_matrix, solving L y = y (interleaved, in elimination order) along when y is given.
    void factor_matrix(index_t active, double* y);
    void permute_in(const double* x, double* work) const;
    void permute_out(const double* work, double* x) const;
    void substitute(double* work, bool forward) const;

    std::shared_ptr<const SymbolicLU> symbolic_;
    std::shared_ptr<const detail::FrontAssembly> assembly_;  // A's entries in the dense fronts
    index_t lanes_;
    double pivot_tolerance_;
    aligned_vector<double> matrix_;      // nnz_matrix * lanes: A's values, interleaved
    aligned_vector<double> values_;      // nnz_factors * lanes: the factors, interleaved
    aligned_vector<double> inv_pivots_;  // n * lanes reciprocals of the pivots
    detail::BlockSchedule schedule_;     // the row-by-row kernel's blocks, recorded once
    aligned_vector<double> row_norms_;   // n * lanes: row norms (dense fronts) or the dense work row
    aligned_vector<double> front_;       // the dense front of one supernode
    aligned_vector<double> arena_;       // Schur complements waiting for their parent
    std::vector<double*> front_rows_;    // row pointers of the current dense front
    index_t failed_lane_ = -1;
    bool factored_ = false;
};

// A run of batch members [first, first + count) factorised together in one PackedLU.
struct Pack {
    index_t first;
    index_t count;
    index_t lanes;
};

// Splits `members` into packs of PackedLU::kMaxLanes (kNarrowLanes on CPUs without
// 512-bit vectors) and, when at most kNarrowLanes members are left over, a last narrow
// pack. The split depends only on `members` and the CPU.
std::vector<Pack> plan_packs(index_t members);

}  // namespace fpscore
