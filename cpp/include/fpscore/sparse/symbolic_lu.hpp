// Symbolic analysis of a sparse pattern: the fill-reducing ordering and the fill pattern
// of the LU factors, computed once per pattern and shared by every numeric factorisation
// with that pattern (KLU's klu_analyze, Eigen's analyzePattern).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "fpscore/sparse/csr.hpp"
#include "fpscore/sparse/ordering.hpp"

namespace fpscore {

namespace detail {
struct SymbolicPlan;
}

// An opaque, immutable analysis; share it as std::shared_ptr<const SymbolicLU> between
// SparseLU objects and threads.
class SymbolicLU {
public:
    // Analyses the pattern of `a` (n×n; only indptr and indices are read) with the given
    // ordering; `grid`, when the pattern is a row-major 5-point grid, skips detecting it.
    // Throws std::invalid_argument for a malformed pattern.
    explicit SymbolicLU(const CsrView& a, Ordering ordering = Ordering::Automatic,
                        const std::optional<GridShape>& grid = std::nullopt);
    // Analyses `a` with a given permutation perm (n entries, perm[new] = old).
    SymbolicLU(const CsrView& a, std::vector<index_t> perm);
    // Wraps a plan made inside the library (BatchedLU plans its own).
    explicit SymbolicLU(std::shared_ptr<const detail::SymbolicPlan> plan);

    index_t n() const;
    // Stored entries of the analysed matrix: the length of every values array.
    offset_t nnz_matrix() const;
    // Stored entries of L + U (L's unit diagonal not stored).
    offset_t nnz_factors() const;
    // Entries of L + U in the exact fill pattern.
    offset_t nnz_structural() const;
    // Floating-point operations of one numeric factorisation (a multiply-add counts two).
    double factor_flops() const;
    // The ordering used ("Automatic" resolved to what it chose; Natural for a given perm).
    Ordering ordering() const;
    // perm[new] = old, n entries.
    const std::vector<index_t>& permutation() const;

    // The library's flat arrays (cpp/src/sparse/symbolic/symbolic_plan.hpp).
    const detail::SymbolicPlan& plan() const noexcept { return *plan_; }

private:
    std::shared_ptr<const detail::SymbolicPlan> plan_;
};

}  // namespace fpscore
