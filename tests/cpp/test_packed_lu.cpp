#include <cmath>
#include <memory>
#include <vector>

#include "check.hpp"
#include "fpscore/errors.hpp"
#include "fpscore/fp/solver.hpp"
#include "sparse/numeric/packed_lu.hpp"
#include "sparse_test_matrices.hpp"

using namespace fpscore;

namespace {

constexpr index_t L = PackedLU::kMaxLanes;

// Each lane holds a different matrix with the same pattern; every lane must match
// the single-matrix factorisation to round-off and solve its own system.
void lanes_match_single_factorisations(index_t L) {
    for (const Ordering ord : {Ordering::Natural, Ordering::MinimumDegree, Ordering::NestedDissection}) {
        const TestCsr base = random_dominant(400, 5, 21);
        auto sym = std::make_shared<const SymbolicLU>(base.view(), ord);
        std::vector<TestCsr> mats(L, base);
        std::vector<const double*> ptrs(L);
        for (index_t l = 0; l < L; ++l) {
            for (size_t p = 0; p < mats[l].data.size(); ++p) mats[l].data[p] *= 1.0 + 0.1 * l + 0.01 * std::sin(p + l);
            ptrs[l] = mats[l].data.data();
        }
        PackedLU packed(sym, L);
        CHECK(packed.lanes() == L);
        packed.factor(ptrs.data(), L);
        std::vector<double> x(static_cast<size_t>(base.n) * L), work(x.size());
        for (index_t i = 0; i < base.n; ++i)
            for (index_t l = 0; l < L; ++l) x[i * L + l] = std::cos(0.3 * i + l);
        const std::vector<double> b = x;
        packed.solve(x.data(), work.data());
        for (index_t l = 0; l < L; ++l) {
            SparseLU single(sym);
            single.factor(mats[l].data.data(), mats[l].data.size());
            std::vector<double> bl(base.n), xl(base.n), yl(base.n);
            for (index_t i = 0; i < base.n; ++i) {
                bl[i] = b[i * L + l];
                xl[i] = x[i * L + l];
            }
            yl = bl;
            single.solve(yl.data(), yl.size());
            double diff = 0.0, scale = 0.0;
            for (index_t i = 0; i < base.n; ++i) {
                diff = std::max(diff, std::abs(xl[i] - yl[i]));
                scale = std::max(scale, std::abs(yl[i]));
            }
            CHECK_LE(diff / scale, 1e-12);
            CHECK_LE(relative_residual(mats[l], xl, bl), 1e-13);
        }
    }
}

void packs_cover_the_batch() {
    for (index_t members = 0; members <= 40; ++members) {
        index_t next = 0;
        for (const Pack& p : plan_packs(members)) {
            CHECK(p.first == next);
            CHECK(p.count >= 1 && p.count <= p.lanes);
            CHECK(p.lanes == PackedLU::kMaxLanes || p.lanes == PackedLU::kNarrowLanes);
            next += p.count;
        }
        CHECK(next == members);
    }
    const index_t widest = plan_packs(PackedLU::kMaxLanes).front().lanes;  // 4 without AVX-512
    CHECK(widest == PackedLU::kMaxLanes || widest == PackedLU::kNarrowLanes);
    CHECK(plan_packs(3).front().lanes == PackedLU::kNarrowLanes);
    CHECK(plan_packs(2 * widest + 3).back().lanes == PackedLU::kNarrowLanes);
    CHECK(plan_packs(2 * widest + 5).back().lanes == widest || widest == PackedLU::kNarrowLanes);
    CHECK_THROWS(std::invalid_argument, PackedLU(nullptr, 4));
}

void partial_pack_ignores_unused_lanes() {
    const TestCsr a = random_dominant(50, 3, 5);
    auto sym = std::make_shared<const SymbolicLU>(a.view());
    CHECK_THROWS(std::invalid_argument, PackedLU(sym, 5));
    PackedLU packed(sym);
    const double* one[1] = {a.data.data()};
    packed.factor(one, 1);
    std::vector<double> x(static_cast<size_t>(a.n) * L, 0.0), work(x.size());
    std::vector<double> b(a.n);
    for (index_t i = 0; i < a.n; ++i) x[i * L] = b[i] = 1.0 + i;
    packed.solve(x.data(), work.data());
    std::vector<double> x0(a.n);
    for (index_t i = 0; i < a.n; ++i) x0[i] = x[i * L];
    CHECK_LE(relative_residual(a, x0, b), 1e-13);
}

void singular_lane_is_reported() {
    const TestCsr a = dense_2x2(2.0, 1.0, 1.0, 2.0);
    const TestCsr singular = dense_2x2(1.0, 1.0, 1.0, 1.0);
    auto sym = std::make_shared<const SymbolicLU>(a.view(), Ordering::Natural);
    PackedLU packed(sym);
    std::vector<const double*> ptrs(L, a.data.data());
    ptrs[L - 1] = singular.data.data();
    CHECK_THROWS(SingularMatrixError, packed.factor(ptrs.data(), L));
    CHECK(!packed.factored());
    ptrs[L - 1] = a.data.data();
    packed.factor(ptrs.data(), L);  // the workspace is clean again after a failure
    CHECK(packed.factored());
}

// From 128² on the factorisations use merged supernodes and dense fronts.
void dense_fronts_solve_large_grids() {
    const index_t H = 130, W = 128;
    std::vector<double> m(static_cast<size_t>(H) * W);
    for (size_t k = 0; k < m.size(); ++k) m[k] = 0.4 * std::sin(0.05 * k) + 0.3 * std::cos(0.11 * k);
    const FPSystem sys = assemble_fp_system({H, W, 1.0}, Boundary::Periodic, Scheme::Central, m, m, 1.3, 0.05);
    TestCsr a;
    a.n = H * W;
    a.indptr = sys.indptr;
    a.indices = sys.indices;
    a.data = sys.data;
    auto sym = analyse_for_packs(a.view());
    CHECK(sym->plan().multifrontal());
    CHECK(sym->nnz_factors() >= sym->nnz_structural());
    std::vector<TestCsr> mats(L, a);
    std::vector<const double*> ptrs(L);
    for (index_t l = 0; l < L; ++l) {
        for (double& v : mats[l].data) v *= 1.0 + 0.05 * l;
        ptrs[l] = mats[l].data.data();
    }
    PackedLU packed(sym);
    packed.factor(ptrs.data(), L);
    std::vector<double> x(static_cast<size_t>(a.n) * L), work(x.size());
    for (size_t k = 0; k < x.size(); ++k) x[k] = std::cos(0.01 * k);
    const std::vector<double> b = x;
    packed.solve(x.data(), work.data());
    SparseLU single(sym);
    single.factor(a.data.data(), a.data.size());
    std::vector<double> b0(a.n), x0(a.n), y0(a.n);
    for (index_t l = 0; l < L; ++l) {
        for (index_t i = 0; i < a.n; ++i) {
            b0[i] = b[static_cast<size_t>(i) * L + l];
            x0[i] = x[static_cast<size_t>(i) * L + l];
        }
        CHECK_LE(relative_residual(mats[l], x0, b0), 1e-13);
    }
    for (index_t i = 0; i < a.n; ++i) y0[i] = b[static_cast<size_t>(i) * L];
    single.solve(y0.data(), y0.size());
    for (index_t i = 0; i < a.n; ++i) x0[i] = x[static_cast<size_t>(i) * L];
    double diff = 0.0;
    for (index_t i = 0; i < a.n; ++i) diff = std::max(diff, std::abs(x0[i] - y0[i]));
    CHECK_LE(diff, 1e-12);
}

}  // namespace

int main() {
    lanes_match_single_factorisations(PackedLU::kMaxLanes);
    lanes_match_single_factorisations(PackedLU::kNarrowLanes);
    packs_cover_the_batch();
    partial_pack_ignores_unused_lanes();
    singular_lane_is_reported();
    dense_fronts_solve_large_grids();
    return check::summary("test_packed_lu");
}
