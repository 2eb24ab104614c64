#include <cmath>
#include <string>
#include <vector>

#include "check.hpp"
#include "fpscore/errors.hpp"
#include "fpscore/fp/solver.hpp"

using namespace fpscore;

namespace {

constexpr double kPi = 3.14159265358979323846;

void constant_field_stays_constant() {
    for (const Boundary bc : {Boundary::Neumann, Boundary::Periodic}) {
        FPProblem pb;
        pb.grid = {5, 7, 0.5};
        pb.boundary = bc;
        pb.n_steps = 4;
        std::vector<double> times{0.0, 0.25, 0.5, 0.75, 1.0}, g(5, 1.3);
        pb.times = times;
        pb.g = g;
        std::vector<double> m0(35, -2.5);
        const FPSolution sol = solve_log_density(pb, m0);
        double err = 0.0;
        for (const double v : sol.m) err = std::max(err, std::abs(v + 2.5));
        CHECK_LE(err, 1e-12);
    }
}

// Cole–Hopf: a Gaussian m stays Gaussian with variance s² + g² t (f = 0).
double cole_hopf_error(index_t N) {
    const index_t H = 21, W = 25;
    const double h = 0.25, s2 = 0.5, g = 1.0, T = 0.1;
    auto exact = [&](double x, double y, double t) {
        const double v = s2 + g * g * t;
        return -(x * x + y * y) / (2.0 * v) - std::log(2.0 * kPi * v);
    };
    auto x_of = [&](index_t j) { return (j - (W - 1) / 2.0) * h; };
    auto y_of = [&](index_t i) { return (i - (H - 1) / 2.0) * h; };
    std::vector<double> times(N + 1), gs(N + 1, g), m0(H * W);
    for (index_t n = 0; n <= N; ++n) times[n] = T * n / N;
    for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) m0[i * W + j] = exact(x_of(j), y_of(i), 0.0);
    std::vector<double> ghosts((N + 1) * (H + 2) * (W + 2));
    for (index_t n = 0; n <= N; ++n)
        for (index_t i = -1; i <= H; ++i)
            for (index_t j = -1; j <= W; ++j)
                ghosts[(n * (H + 2) + i + 1) * (W + 2) + j + 1] = exact(x_of(j), y_of(i), times[n]);
    FPProblem pb;
    pb.grid = {H, W, h};
    pb.boundary = Boundary::Dirichlet;
    pb.n_steps = N;
    pb.times = times;
    pb.g = gs;
    pb.ghosts = ghosts;
    const FPSolution sol = solve_log_density(pb, m0);
    double err = 0.0;
    for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j)
            err = std::max(err, std::abs(sol.m[N * H * W + i * W + j] - exact(x_of(j), y_of(i), T)));
    return err;
}

// The stencils are exact on the quadratic m, so only the backward-Euler error is
// left: first order in Δt.
void gaussian_matches_cole_hopf_to_first_order() {
    const double coarse = cole_hopf_error(50), fine = cole_hopf_error(100);
    CHECK_LE(fine, 1e-2);
    const double order = std::log2(coarse / fine);
    CHECK(order > 0.9 && order < 1.1);
    std::cout << "Cole-Hopf Gaussian: error " << coarse << " -> " << fine << ", order " << order << "\n";
}

void bad_input_throws() {
    FPProblem pb;
    pb.grid = {2, 5, 1.0};
    pb.n_steps = 1;
    std::vector<double> times{0.0, 1.0}, g{1.0, 1.0}, m0(10, 0.0);
    pb.times = times;
    pb.g = g;
    CHECK_THROWS(std::invalid_argument, solve_log_density(pb, m0));
    pb.grid = {4, 5, -1.0};
    m0.assign(20, 0.0);
    CHECK_THROWS(std::invalid_argument, solve_log_density(pb, m0));
    pb.grid = {4, 5, 1.0};
    m0[3] = std::nan("");
    CHECK_THROWS(std::invalid_argument, solve_log_density(pb, m0));
    // Every array's size is checked against its shape.
    m0[3] = 0.0;
    const std::vector<double> short_m0(19, 0.0), three_times{0.0, 0.5, 1.0};
    CHECK_THROWS(std::invalid_argument, solve_log_density(pb, short_m0));
    CHECK_THROWS(std::invalid_argument, central_gradient(pb.grid, Boundary::Zero, short_m0));
    CHECK_THROWS(std::invalid_argument, assemble_fp_system(pb.grid, Boundary::Zero, Scheme::Central, m0, short_m0, 1.0, 0.1));
    pb.times = three_times;
    CHECK_THROWS(std::invalid_argument, solve_log_density(pb, m0));
    CHECK_THROWS(std::invalid_argument, parse_boundary("reflecting"));
}

// Grids whose H*W or (H+2)*(W+2) exceed 32-bit node indices are rejected by the size check
// itself (a message naming the grid), before any array is read: none of these is allocated.
void oversized_grid_throws() {
    auto message = [](auto&& call) -> std::string {
        try {
            call();
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "no error";
    };
    CHECK(Grid({50000, 50000, 1.0}).size() == 2500000000LL);  // 64-bit products
    CHECK(Grid({46340, 46340, 1.0}).padded_size() == 46342LL * 46342LL);
    FPProblem pb;
    pb.grid = {50000, 50000, 1.0};
    pb.n_steps = 1;
    pb.batch = 1;
    const std::vector<double> times{0.0, 1.0}, g{1.0, 1.0}, tiny(1, 0.0);
    pb.times = times;
    pb.g = g;
    for (const std::string& what :
         {message([&] { solve_log_density(pb, tiny); }),
          message([&] { central_gradient(pb.grid, Boundary::Zero, tiny); }),
          message([&] { assemble_fp_system(pb.grid, Boundary::Zero, Scheme::Central, tiny, tiny, 1.0, 0.1); })}) {
        const bool named = what.find("the grid 50000x50000 is too large") != std::string::npos;
        check::report(named, "oversized grid named", __FILE__, __LINE__, what);
    }
    // The largest grid inside the limit passes the size check (and fails on m0's size).
    pb.grid = {46338, 46338, 1.0};
    const std::string inside = message([&] { solve_log_density(pb, tiny); });
    check::report(inside.find("m0 must hold") != std::string::npos, "grid inside the limit", __FILE__, __LINE__,
                  inside);
}

void divergence_raises_convergence_error() {
    // A steep m with a huge step: the central scheme loses diagonal dominance.
    FPProblem pb;
    pb.grid = {8, 8, 1.0};
    pb.n_steps = 1;
    std::vector<double> times{0.0, 50.0}, g{5.0, 5.0}, m0(64);
    for (index_t k = 0; k < 64; ++k) m0[k] = 40.0 * std::sin(1.7 * k);
    pb.times = times;
    pb.g = g;
    FPOptions opt;
    opt.max_iter = 5;
    CHECK_THROWS(ConvergenceError, solve_log_density(pb, m0, opt));
}

// Several threads over the packs of a batch give exactly one thread's answer (each pack is
// solved on its own; run under ThreadSanitizer in CI).
void threads_agree_with_one_thread() {
    const index_t H = 9, W = 11, B = 21;  // 3 to 6 packs, the last one partial
    FPProblem pb;
    pb.grid = {H, W, 0.5};
    pb.boundary = Boundary::Neumann;
    pb.batch = B;
    pb.n_steps = 3;
    std::vector<double> times{0.0, 0.05, 0.1, 0.15}, g(4, 1.0), m0(B * H * W);
    for (index_t k = 0; k < B * H * W; ++k) m0[k] = -0.5 * std::sin(0.37 * k) - 1.0;
    pb.times = times;
    pb.g = g;
    FPOptions opt;
    const FPSolution one = solve_log_density(pb, m0, opt);
    for (const int threads : {2, 3}) {
        opt.threads = threads;
        const FPSolution many = solve_log_density(pb, m0, opt);
        CHECK(many.m == one.m);
        CHECK(many.score == one.score);
        CHECK(many.iterations == one.iterations);
    }
}

}  // namespace

int main() {
    constant_field_stays_constant();
    gaussian_matches_cole_hopf_to_first_order();
    bad_input_throws();
    oversized_grid_throws();
    divergence_raises_convergence_error();
    threads_agree_with_one_thread();
    return check::summary("test_fp_solver");
}
