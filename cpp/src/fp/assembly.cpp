#include "fp/assembly.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "common/simd_dispatch.hpp"

namespace fpscore::detail {
namespace {

template <int L>
struct LaneMath {
    using Lanes = typename SimdVector<L>::type;
    static FPSCORE_INLINE Lanes load(const double* p) { return load_vector<L>(p); }
    static FPSCORE_INLINE void store(double* p, Lanes v) { store_vector<L>(p, v); }
    static FPSCORE_INLINE Lanes positive_part(Lanes x) { return x > 0.0 ? x : 0.0 * x; }
    static FPSCORE_INLINE Lanes magnitude(Lanes x) { return x > 0.0 ? x : -x; }
};

template <int L>
FPSCORE_INLINE void assemble(index_t H, index_t W, double h, bool upwind, const StepInputs& in, const StepOutputs& out) {
    using M = LaneMath<L>;
    using Lanes = typename M::Lanes;
    const index_t PW = W + 2, n = H * W;
    const double half_g2 = 0.5 * in.g * in.g;
    const double a = half_g2 / (h * h);  // ½g²/h²: the Laplacian's off-diagonal weight
    const double inv_dt = 1.0 / in.dt, inv_h = 1.0 / h, inv_2h = 0.5 / h;
    Lanes speed2 = {};
    for (index_t i = 0; i < H; ++i) {
        for (index_t j = 0; j < W; ++j) {
            const offset_t p = static_cast<offset_t>(i) * W + j;
            const double* c = in.padded_lag + (static_cast<offset_t>(i + 1) * PW + (j + 1)) * L;
            const Lanes value[kNeighbours] = {M::load(c), M::load(c + L), M::load(c - L), M::load(c + PW * L), M::load(c - PW * L)};
            // Advection velocity v = ½g² G_h m_lag − f.
            Lanes vx = half_g2 * inv_2h * (value[kEast] - value[kWest]);
            Lanes vy = half_g2 * inv_2h * (value[kSouth] - value[kNorth]);
            if (in.drift != nullptr) {
                vx -= in.drift[p];
                vy -= in.drift[n + p];
            }
            const Lanes v2 = vx * vx + vy * vy;
            speed2 = v2 > speed2 ? v2 : speed2;

            Lanes coef[kNeighbours];
            if (!upwind) {
                coef[kCentre] = (inv_dt + 4.0 * a) + 0.0 * vx;
                coef[kEast] = -a - inv_2h * vx;
                coef[kWest] = -a + inv_2h * vx;
                coef[kSouth] = -a - inv_2h * vy;
                coef[kNorth] = -a + inv_2h * vy;
            } else {
                // v·∇m with the one-sided difference towards where v points: an M-matrix.
                coef[kCentre] = (inv_dt + 4.0 * a) + inv_h * (M::magnitude(vx) + M::magnitude(vy));
                coef[kEast] = -a - inv_h * M::positive_part(vx);
                coef[kWest] = -a - inv_h * M::positive_part(-vx);
                coef[kSouth] = -a - inv_h * M::positive_part(vy);
                coef[kNorth] = -a - inv_h * M::positive_part(-vy);
            }

            Lanes b = inv_dt * M::load(in.m_prev + p * L);
            if (in.drift_div != nullptr) b -= in.drift_div[p];
            if (out.residual != nullptr) {
                Lanes applied = coef[kCentre] * value[kCentre];
                for (int d = 1; d < kNeighbours; ++d) applied += coef[d] * value[d];
                M::store(out.residual + p * L, b - applied);
            }
            const offset_t* pos = out.positions + p * kNeighbours;
            if (out.rhs != nullptr) {
                for (int d = 1; d < kNeighbours; ++d)
                    if (pos[d] < 0) b -= coef[d] * value[d];  // a known ghost value
                M::store(out.rhs + p * L, b);
            }
            if (out.values != nullptr)
                for (int d = 0; d < kNeighbours; ++d)
                    if (pos[d] >= 0) {
                        double* v = out.values + pos[d] * L;
                        M::store(v, M::load(v) + coef[d]);
                    }
        }
    }
    for (index_t l = 0; l < L; ++l) out.speed[l] = std::sqrt(speed2[l]);
}

// One dispatched kernel per lane count (FPSCORE_SIMD_KERNEL, simd_dispatch.hpp).
FPSCORE_INLINE void assemble_narrow_body(index_t H, index_t W, double h, bool upwind, const StepInputs& in,
                                         const StepOutputs& out) {
    assemble<PackedLU::kNarrowLanes>(H, W, h, upwind, in, out);
}
FPSCORE_SIMD_KERNEL(void, assemble_narrow,
                    (index_t H, index_t W, double h, bool upwind, const StepInputs& in, const StepOutputs& out),
                    (H, W, h, upwind, in, out))

FPSCORE_INLINE void assemble_wide_body(index_t H, index_t W, double h, bool upwind, const StepInputs& in,
                                       const StepOutputs& out) {
    assemble<PackedLU::kMaxLanes>(H, W, h, upwind, in, out);
}
FPSCORE_SIMD_KERNEL(void, assemble_wide,
                    (index_t H, index_t W, double h, bool upwind, const StepInputs& in, const StepOutputs& out),
                    (H, W, h, upwind, in, out))

}  // namespace

void assemble_lanes(const Grid& grid, Scheme scheme, index_t lanes, const StepInputs& in, const StepOutputs& out) {
    const bool upwind = scheme == Scheme::Upwind;
    if (lanes == PackedLU::kMaxLanes)
        assemble_wide(grid.rows, grid.cols, grid.h, upwind, in, out);
    else if (lanes == PackedLU::kNarrowLanes)
        assemble_narrow(grid.rows, grid.cols, grid.h, upwind, in, out);
    else
        throw std::invalid_argument("assemble_lanes: unsupported lane count " + std::to_string(lanes));
}

}  // namespace fpscore::detail
