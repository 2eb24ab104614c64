// The CUDA backend's algorithm on the host: the per-row LU and per-node FP code that the
// kernels run (cuda/src/lu_rows.hpp, cuda/src/fp_nodes.hpp), the level schedule, and the
// chunked Picard/policy driver on the host executor, all against the CPU solver. Only the
// kernel launches and device memory are left for the GPU tests.
#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "chunk_plan.hpp"
#include "host_chunk_ops.hpp"
#include "lu_rows.hpp"
#include "fpscore/errors.hpp"
#include "fpscore/fp/solver.hpp"
#include "fpscore/sparse/sparse_lu.hpp"
#include "sparse/symbolic/level_schedule.hpp"
#include "sparse_test_matrices.hpp"

using namespace fpscore;
using cuda_detail::FactorPattern;

namespace {

// Factorises `lanes` matrices with the level-ordered row kernel and solves; each matrix's
// solution must match SparseLU's to round-off and have a tiny residual.
void rows_factor_and_solve(const TestCsr& base, int lanes, unsigned seed, std::optional<GridShape> grid) {
    const CsrView view{base.n, base.indptr.data(), base.indices.data()};
    const auto plan = detail::analyse_pattern(view, Ordering::Automatic, grid, detail::Elimination::RowByRow);
    const detail::LevelSchedule schedule = detail::level_schedule(*plan);
    const FactorPattern f{plan->row_ptr.data(), plan->cols.data(), plan->diag.data()};
    const std::int64_t S = lanes, n = base.n, nnz_f = plan->nnz_factors();
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> scale(0.5, 2.0);
    std::vector<TestCsr> matrices(lanes, base);
    std::vector<double> factors(nnz_f * S, 0.0), inv(n * S), rhs(n * S), work(n * S);
    for (int l = 0; l < lanes; ++l) {
        for (double& v : matrices[l].data) v *= scale(rng);  // same pattern, other values (still dominant)
        for (offset_t k = 0; k < plan->nnz_matrix(); ++k) factors[plan->matrix_to_factor[k] * S + l] += matrices[l].data[k];
        for (std::int64_t i = 0; i < n; ++i) rhs[i * S + l] = std::sin(0.3 * i + l);
    }
    for (int l = 0; l < lanes; ++l)
        for (std::int64_t k = 0; k < static_cast<std::int64_t>(schedule.rows.size()); ++k) {
            double pivot, norm;
            CHECK(cuda_detail::factor_row(f, schedule.rows[k], factors.data(), inv.data(), S, l, 1e-13, &pivot, &norm));
        }
    for (std::int64_t i = 0; i < n; ++i)
        for (int l = 0; l < lanes; ++l) work[i * S + l] = rhs[plan->perm[i] * S + l];
    for (int l = 0; l < lanes; ++l) {
        for (const index_t i : schedule.rows) cuda_detail::forward_row(f, i, factors.data(), work.data(), S, l);
        for (auto it = schedule.rows.rbegin(); it != schedule.rows.rend(); ++it)
            cuda_detail::backward_row(f, *it, factors.data(), inv.data(), work.data(), S, l);
    }
    for (int l = 0; l < lanes; ++l) {
        std::vector<double> x(n), b(n);
        for (std::int64_t i = 0; i < n; ++i) {
            x[plan->perm[i]] = work[i * S + l];
            b[i] = rhs[i * S + l];
        }
        CHECK_LE(relative_residual(matrices[l], x, b), 1e-14);
        const TestCsr& a = matrices[l];
        SparseLU reference(std::make_shared<const SymbolicLU>(CsrView{a.n, a.indptr.data(), a.indices.data()}));
        reference.factor(a.data.data(), a.data.size());
        std::vector<double> y = b;
        reference.solve(y.data(), y.size(), 1);
        double diff = 0.0, size = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
            diff = std::max(diff, std::abs(x[i] - y[i]));
            size = std::max(size, std::abs(y[i]));
        }
        CHECK_LE(diff, 1e-12 * size);
    }
}

void row_kernels_match_sparse_lu() {
    rows_factor_and_solve(grid_dominant(12), 3, 1, GridShape{12, 12, false, false});
    rows_factor_and_solve(grid_dominant(31), 2, 2, GridShape{31, 31, false, false});
    for (unsigned seed = 0; seed < 4; ++seed) rows_factor_and_solve(random_dominant(150, 5, seed), 4, seed, std::nullopt);
}

// Every L dependency lies on a lower level, every row once.
void level_schedule_is_a_topological_order() {
    const TestCsr a = grid_dominant(20);
    for (const Ordering o : {Ordering::Natural, Ordering::MinimumDegree, Ordering::NestedDissection}) {
        const auto plan = detail::analyse_pattern(CsrView{a.n, a.indptr.data(), a.indices.data()}, o,
                                                  GridShape{20, 20, false, false}, detail::Elimination::RowByRow);
        const auto s = detail::level_schedule(*plan);
        std::vector<index_t> level(a.n, -1);
        for (index_t k = 0; k < s.levels(); ++k)
            for (offset_t r = s.level_ptr[k]; r < s.level_ptr[k + 1]; ++r) {
                CHECK(level[s.rows[r]] == -1);
                level[s.rows[r]] = k;
            }
        bool ordered = true;
        for (index_t i = 0; i < a.n; ++i)
            for (offset_t p = plan->row_ptr[i]; p < plan->diag[i]; ++p) ordered = ordered && level[plan->cols[p]] < level[i];
        CHECK(ordered);
        CHECK(std::count(level.begin(), level.end(), -1) == 0);
    }
    // A pattern that is not closed under fill: row 2 uses row 0, whose U holds column 1, which
    // row 2 lacks.
    detail::SymbolicPlan bad;
    bad.n = 3;
    bad.row_ptr = {0, 2, 3, 5};
    bad.cols = {0, 1, 1, 0, 2};
    bad.diag = {0, 2, 4};
    CHECK_THROWS(std::invalid_argument, detail::level_schedule(bad));
}

// A batch of image-like fields with a drift and (for Dirichlet) ghosts, 9×7.
struct Case {
    std::vector<double> times, g, drift, drift_div, ghosts, m0;
    FPProblem pb;
};

Case make_case(Boundary bc, index_t batch, bool with_drift, index_t H = 9, index_t W = 7) {
    Case c;
    const index_t N = 6;
    const double h = 0.5;
    c.times.resize(N + 1);
    c.g.resize(N + 1);
    for (index_t n = 0; n <= N; ++n) {
        c.times[n] = 0.6 * n / N;
        c.g[n] = 0.8 + 0.5 * c.times[n];
    }
    const auto cells = static_cast<size_t>(H) * W;
    c.m0.resize(batch * cells);
    for (index_t b = 0; b < batch; ++b)
        for (size_t p = 0; p < cells; ++p) {
            const double i = static_cast<double>(p / W), j = static_cast<double>(p % W);
            c.m0[b * cells + p] = -0.1 * ((i - 4) * (i - 4) + (j - 3) * (j - 3)) + 0.3 * std::sin(b + 0.7 * p);
        }
    FPProblem& pb = c.pb;
    pb.grid = {H, W, h};
    pb.boundary = bc;
    pb.batch = batch;
    pb.n_steps = N;
    if (with_drift) {
        c.drift.resize((N + 1) * 2 * cells);
        c.drift_div.resize((N + 1) * cells);
        for (index_t n = 0; n <= N; ++n)
            for (size_t p = 0; p < cells; ++p) {
                const double x = h * static_cast<double>(p % W), y = h * static_cast<double>(p / W);
                c.drift[(n * 2) * cells + p] = -0.4 * (x - 1.5);
                c.drift[(n * 2 + 1) * cells + p] = -0.4 * (y - 2.0);
                c.drift_div[n * cells + p] = -0.8;
            }
    }
    if (bc == Boundary::Dirichlet) {
        const size_t ring = static_cast<size_t>(H + 2) * (W + 2);
        c.ghosts.resize((N + 1) * batch * ring);
        for (size_t k = 0; k < c.ghosts.size(); ++k) c.ghosts[k] = -1.0 + 0.2 * std::cos(0.37 * k);
    }
    pb.times = c.times;
    pb.g = c.g;
    if (with_drift) {
        pb.drift = c.drift;
        pb.drift_div = c.drift_div;
    }
    if (bc == Boundary::Dirichlet) pb.ghosts = c.ghosts;
    return c;
}

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double d = 0.0;
    for (size_t k = 0; k < a.size(); ++k) d = std::max(d, std::abs(a[k] - b[k]) / std::max(1.0, std::abs(b[k])));
    return d;
}

// Every boundary condition, scheme and iteration mode, with and without drift, batches that
// fill chunks exactly and not: equal to the CPU solver within 1e-10 (both iterate to 1e-13).
void driver_matches_cpu_solver() {
    for (const Boundary bc : {Boundary::Zero, Boundary::Dirichlet, Boundary::Neumann, Boundary::Periodic})
        for (const Scheme scheme : {Scheme::Central, Scheme::Upwind})
            for (const Iteration iteration : {Iteration::Picard, Iteration::Policy})
                for (const index_t batch : {1, 4, 11}) {
                    const Case c = make_case(bc, batch, batch != 4);
                    FPOptions opt;
                    opt.scheme = scheme;
                    opt.iteration = iteration;
                    opt.tol = 1e-13;
                    opt.max_iter = 200;
                    const FPSolution cpu = solve_log_density(c.pb, c.m0, opt);
                    const FPSolution host = cuda_detail::solve_on_host(c.pb, c.m0, opt, 4);
                    const std::string what = to_string(bc) + "/" + to_string(scheme) + "/" + to_string(iteration) +
                                             "/B=" + std::to_string(batch);
                    check::report(max_difference(host.m, cpu.m) <= 1e-10, "m matches the CPU", __FILE__, __LINE__, what);
                    check::report(max_difference(host.score, cpu.score) <= 1e-10, "score matches the CPU", __FILE__,
                                  __LINE__, what);
                    CHECK(host.iterations.size() == cpu.iterations.size());
                }
}

// The default tolerance: the same fixed point within a few tol.
void default_tolerance_is_close() {
    const Case c = make_case(Boundary::Zero, 5, true, 16, 16);
    const FPSolution cpu = solve_log_density(c.pb, c.m0);
    const FPSolution host = cuda_detail::solve_on_host(c.pb, c.m0, FPOptions{}, 8);
    CHECK_LE(max_difference(host.m, cpu.m), 1e-7);
}

std::string message_of(const Case& c, const FPOptions& opt) {
    try {
        cuda_detail::solve_on_host(c.pb, c.m0, opt, 4);
    } catch (const ConvergenceError& e) {
        return e.what();
    }
    return "";
}

// Failures name the batch member (its index in the whole batch, not in the chunk) and step.
void errors_name_member_and_step() {
    Case c = make_case(Boundary::Zero, 7, false);
    FPOptions opt;
    opt.max_iter = 1;
    const std::string slow = message_of(c, opt);
    CHECK(slow.find("did not converge in max_iter=1") != std::string::npos);
    CHECK(slow.find("batch member 0") != std::string::npos);
    CHECK(slow.find("dt=") != std::string::npos);
    // Member 5 (in the second chunk) overflows: non-finite values at the first step.
    const size_t cells = 9 * 7;
    for (size_t p = 0; p < cells; ++p) c.m0[5 * cells + p] = (p % 2 ? 1e200 : -1e200);
    const std::string overflow = message_of(c, FPOptions{});
    CHECK(overflow.find("batch member 5") != std::string::npos);
    CHECK(overflow.find("step n=1") != std::string::npos);
    bool cpu_throws = false;
    try {
        solve_log_density(c.pb, c.m0);
    } catch (const ConvergenceError& e) {
        cpu_throws = std::string(e.what()).find("batch member 5") != std::string::npos;
    }
    CHECK(cpu_throws);
    // Bad input is rejected before any work, as by the CPU solver.
    c.m0[3] = std::nan("");
    CHECK_THROWS(std::invalid_argument, cuda_detail::solve_on_host(c.pb, c.m0, FPOptions{}, 4));
}

}  // namespace

int main() {
    row_kernels_match_sparse_lu();
    level_schedule_is_a_topological_order();
    driver_matches_cpu_solver();
    default_tolerance_is_close();
    errors_name_member_and_step();
    return check::summary("test_cuda_host_logic");
}
