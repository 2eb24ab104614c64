// LU factorisation and solves of a batch of matrices that share one sparsity pattern:
// PackedLU packs of up to PackedLU::kMaxLanes matrices (plan_packs), split across threads.
#pragma once

#include <memory>
#include <vector>

#include "fpscore/packed_lu.hpp"

namespace fpscore {

class BatchedLU {
public:
    // threads: worker threads over the packs; 0 = all hardware threads.
    BatchedLU(std::shared_ptr<const SymbolicLU> symbolic, index_t batch, int threads = 1,
              double pivot_tolerance = SparseLU::kDefaultPivotTolerance);

    // values: (batch, nnz_matrix) row-major, each row in the analysed CSR order.
    // Throws SingularMatrixError naming the first batch member with a bad pivot, and
    // std::invalid_argument naming one with NaN or inf values.
    void factor(const double* values);

    // b: (batch, n) row-major, overwritten with the solutions.
    void solve(double* b) const;

    // factor(values) then solve(b), each pack's forward substitution done during its
    // factorisation and its back substitution right after, while its factors are in cache.
    void factor_solve(const double* values, double* b);

    index_t batch() const { return batch_; }
    int threads() const { return threads_; }
    const SymbolicLU& symbolic() const { return *symbolic_; }
    const std::vector<Pack>& packs() const { return plan_; }
    bool factored() const { return factored_; }

private:
    // Factorises pack k; with x (its right-hand sides, interleaved) also solves for them.
    // x and work: n * PackedLU::kMaxLanes, cache-line aligned.
    void factor_pack(index_t k, const double* values, double* x, double* work);
    void load_rhs(index_t k, const double* b, double* x) const;
    void store_solutions(index_t k, const double* x, double* b) const;

    std::shared_ptr<const SymbolicLU> symbolic_;
    index_t batch_;
    int threads_;
    std::vector<Pack> plan_;
    std::vector<PackedLU> packs_;
    bool factored_ = false;
};

}  // namespace fpscore
