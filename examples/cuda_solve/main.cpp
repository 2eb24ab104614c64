// A batch of 64 fields on a 32×32 grid solved on the first CUDA device and on the CPU; the two
// must agree to 1e-10 (both iterate to 1e-13).
#include <cmath>
#include <cstdio>
#include <vector>

#include <fpscore/cuda/solver.hpp>

int main() {
    std::printf("fpscore::cuda built for architectures %s, CUDA runtime %s\n",
                fpscore::cuda::compiled_architectures().c_str(), fpscore::cuda::runtime_version().c_str());
    if (fpscore::cuda::device_count() == 0) {
        std::printf("no CUDA device: nothing to run\n");
        return 0;
    }
    std::printf("device 0: %s\n", fpscore::cuda::device_name(0).c_str());
    const int B = 64, H = 32, W = 32, N = 20;
    std::vector<double> times(N + 1), g(N + 1), m0(static_cast<size_t>(B) * H * W);
    for (int n = 0; n <= N; ++n) {
        times[n] = static_cast<double>(n) / N;
        g[n] = std::sqrt(2.0 * std::log(2.0)) * std::pow(2.0, times[n]);  // VE, sigma = 2
    }
    for (int b = 0; b < B; ++b)
        for (int i = 0; i < H; ++i)
            for (int j = 0; j < W; ++j) {
                const double x = (j - 15.5) / 16.0, y = (i - 15.5) / 16.0;
                m0[(static_cast<size_t>(b) * H + i) * W + j] = -2.0 * (x * x + y * y) + 0.1 * std::sin(b + i * j);
            }
    fpscore::FPProblem problem;
    problem.grid = {H, W, 1.0};
    problem.batch = B;
    problem.n_steps = N;
    problem.times = times;
    problem.g = g;
    fpscore::FPOptions options;
    options.tol = 1e-13;
    options.max_iter = 200;
    const fpscore::FPSolution gpu = fpscore::cuda::solve_log_density(problem, m0, options);
    const fpscore::FPSolution cpu = fpscore::solve_log_density(problem, m0, options);
    double worst = 0.0;
    for (size_t k = 0; k < cpu.m.size(); ++k)
        worst = std::fmax(worst, std::fabs(gpu.m[k] - cpu.m[k]) / std::fmax(1.0, std::fabs(cpu.m[k])));
    std::printf("largest relative difference from the CPU: %.2e\n", worst);
    return worst <= 1e-10 ? 0 : 1;
}
