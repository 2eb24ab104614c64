// Sparse LU of any nonsingular matrix: the fast static-pivot SparseLU where diagonal
// pivoting is safe, and what strong general solvers do where it is not.
//
// Three paths, chosen per factorisation (Pivoting::Automatic) or forced:
//   Diagonal  A itself with diagonal pivots (SparseLU): taken when A is diagonally
//             dominant by rows or by columns, where static pivoting is stable (the FP systems).
//   Matched   B = Dr·P·A·Dc, a maximum-product matching P that puts large entries on the
//             diagonal and the scalings Dr, Dc from its duals (|b_jj| = 1, |b_ij| <= 1), then
//             static pivoting on B, accepted while no pivot falls below kMatchedPivotTolerance
//             of its row; solves are refined against A.
//   Partial   B factorised with threshold partial pivoting (left-looking, the same
//             fill-reducing column order, the diagonal preferred); the fallback of Matched.
// A structurally singular A (no perfect matching) or a column without an acceptable pivot
// under partial pivoting throws SingularMatrixError.
//
//     fpscore::GeneralLU lu(pattern, values.data(), values.size());
//     auto report = lu.solve(b.data(), b.size());   // b becomes x; report.backward_error
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fpscore/sparse/csr.hpp"
#include "fpscore/sparse/ordering.hpp"
#include "fpscore/sparse/symbolic_lu.hpp"

namespace fpscore {

enum class Pivoting {
    Automatic,  // Diagonal for diagonally dominant values, else Matched falling back to Partial
    Diagonal,
    Matched,    // falls back to Partial when a pivot is too small or refinement stalls
    Partial,
};

// "auto", "diagonal", "matched", "partial"; throws std::invalid_argument for any other name.
Pivoting parse_pivoting(const std::string& name);
std::string to_string(Pivoting pivoting);

struct GeneralLUOptions {
    Ordering ordering = Ordering::Automatic;
    Pivoting pivoting = Pivoting::Automatic;
    // Diagonal path: a pivot at or below pivot_tolerance · max_j |a_ij| of its row is singular.
    double pivot_tolerance = 1e-13;
    // Threads of the static-pivot factorisation (SparseLU's meaning: 0 = all cores).
    int threads = 1;
    // Iterative refinement steps at most per solve on the Matched and Partial paths, stopping
    // at a backward error of 2ε or when a step does not halve it (0: none). The Diagonal path
    // is backward stable without them.
    int max_refinement_steps = 10;
};

// What the last factor() did.
struct FactorReport {
    Pivoting path = Pivoting::Diagonal;  // the path that produced the factors
    bool matched_fell_back = false;      // Matched was tried and rejected in this factorisation
    index_t off_diagonal_pivots = 0;     // Partial: pivots taken off the (matched) diagonal
    offset_t nnz_factors = 0;            // stored entries of L + U of that path
    double factor_flops = 0.0;           // its floating-point operations (a multiply-add is two)
};

// What one solve() did.
struct SolveReport {
    int refinement_steps = 0;
    // ‖b − A x‖∞ / (‖A‖∞ ‖x‖∞ + ‖b‖∞), the worst right-hand side; NaN on the Diagonal path,
    // which does not form the residual.
    double backward_error = 0.0;
};

class GeneralLU {
public:
    // Analyses the pattern of `a` (n×n) and factorises `values` (count = a.nnz(), in a's CSR
    // order); `grid` as for SymbolicLU (used by the Diagonal path). Throws as factor().
    GeneralLU(const CsrView& a, const double* values, std::size_t count, GeneralLUOptions options = {},
              const std::optional<GridShape>& grid = std::nullopt);
    ~GeneralLU();
    GeneralLU(GeneralLU&&) noexcept;
    GeneralLU& operator=(GeneralLU&&) noexcept;

    // Factorises new values on the same pattern. The ordering, the matching and the
    // scalings are reused (the matching is computed at the first factorisation that needs
    // it). Throws std::invalid_argument on a size mismatch or a NaN/inf value (the previous
    // factors are kept) and SingularMatrixError; after that, solve() throws until a factor()
    // succeeds.
    void factor(const double* values, std::size_t count);

    // Solves A x = b in place for nrhs right-hand sides stored row-major as (n, nrhs). On
    // the Matched path a solve whose refinement stalls above kFallbackBackwardError
    // refactorises with partial pivoting and solves again (so it is not const).
    SolveReport solve(double* b, std::size_t count, index_t nrhs = 1);

    index_t n() const;
    const GeneralLUOptions& options() const;
    const FactorReport& factor_report() const;
    bool factored() const;
    // The symbolic analysis of the last factorisation's path: the Diagonal path's of A, or
    // the Matched and Partial paths' of B (whose permutation is Partial's column order).
    std::shared_ptr<const SymbolicLU> symbolic() const;
    // Matched and Partial paths: row j of B is row row_of_column()[j] of A; empty before the
    // matching is computed.
    const std::vector<index_t>& row_of_column() const;
    // Threads the static-pivot factorisation runs on (1 or 2).
    int threads() const;

    // Matched path: a pivot at or below this fraction of its row's largest |b_ij| (<= 1
    // after scaling) rejects the static factorisation in favour of partial pivoting.
    static constexpr double kMatchedPivotTolerance = 1e-8;
    // Partial path: a column whose largest candidate is at or below this fraction of the
    // column's largest |b_ij| is singular.
    static constexpr double kPartialPivotTolerance = 1e-14;
    // Partial pivoting threshold: the diagonal is kept while within this factor of the largest.
    static constexpr double kPartialThreshold = 0.1;
    // A Matched solve ending above this backward error is redone with partial pivoting.
    static constexpr double kFallbackBackwardError = 1e-12;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fpscore
