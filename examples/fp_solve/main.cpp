// Solves a small log-density Fokker–Planck problem with the installed library and
// checks it against the Cole–Hopf solution: a Gaussian m stays Gaussian with
// variance s² + g²t when f = 0.
#include <cmath>
#include <cstdio>
#include <vector>

#ifdef FP_SOLVE_UMBRELLA
#include <fpscore/fpscore.hpp>  // everything (fpscore::core)
#else
#include <fpscore/fp.hpp>  // the Fokker-Planck solver (fpscore::fp)
#endif

int main() {
    const int H = 15, W = 19, N = 100;
    const double h = 0.3, s2 = 0.6, g = 1.0, T = 0.05, pi = 3.14159265358979323846;
    auto exact = [&](int i, int j, double t) {
        const double x = (j - (W - 1) / 2.0) * h, y = (i - (H - 1) / 2.0) * h, v = s2 + g * g * t;
        return -(x * x + y * y) / (2.0 * v) - std::log(2.0 * pi * v);
    };
    std::vector<double> times(N + 1), gs(N + 1, g), m0(H * W), ghosts((N + 1) * (H + 2) * (W + 2));
    for (int n = 0; n <= N; ++n) times[n] = T * n / N;
    for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j) m0[i * W + j] = exact(i, j, 0.0);
    for (int n = 0; n <= N; ++n)
        for (int i = -1; i <= H; ++i)
            for (int j = -1; j <= W; ++j)
                ghosts[(n * (H + 2) + i + 1) * (W + 2) + j + 1] = exact(i, j, times[n]);

    fpscore::FPProblem problem;
    problem.grid = {H, W, h};
    problem.boundary = fpscore::Boundary::Dirichlet;
    problem.n_steps = N;
    problem.times = times;
    problem.g = gs;
    problem.ghosts = ghosts;
    const fpscore::FPSolution sol = fpscore::solve_log_density(problem, m0);

    double err = 0.0;
    for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j) err = std::fmax(err, std::fabs(sol.m[N * H * W + i * W + j] - exact(i, j, T)));
    std::printf("fpscore %s: Cole-Hopf max error %.3e after %d steps\n", fpscore::version(), err, N);
    return err < 5e-3 ? 0 : 1;
}
