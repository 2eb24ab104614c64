#include "fp/batch_solver.hpp"

#include <utility>

#include "sparse/numeric/packed_lu.hpp"

namespace fpscore::detail {
namespace {

class CpuBatchSolver final : public BatchSolver {
public:
    CpuBatchSolver(std::shared_ptr<const SymbolicLU> symbolic, index_t lanes) : lu_(std::move(symbolic), lanes) {}

    index_t lanes() const override { return lu_.lanes(); }
    double* values() override { return lu_.matrix_values().data(); }
    std::size_t value_count() const override { return lu_.matrix_values().size(); }
    void factor(index_t active) override { lu_.factor_matrix(active); }
    index_t failed_system() const override { return lu_.failed_lane(); }
    void solve(double* x, double* work) const override { lu_.solve(x, work); }

private:
    PackedLU lu_;
};

}  // namespace

std::unique_ptr<BatchSolver> make_cpu_batch_solver(std::shared_ptr<const SymbolicLU> symbolic, index_t lanes) {
    return std::make_unique<CpuBatchSolver>(std::move(symbolic), lanes);
}

}  // namespace fpscore::detail
