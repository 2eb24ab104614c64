// fpscore._core: a thin pybind11 layer over the C++ library. Arrays come in as
// C-contiguous float64/int views (at most one converting copy), raw pointers go to
// C++, outputs are C++ vectors handed to numpy without a copy. Every solve runs
// with the GIL released and touches no Python object.
//
// Threads: a factorisation object may be shared by Python threads. Each holds a
// shared_mutex: refactor/factor take it exclusively, solves shared (a solve only reads the
// factors). The lock is always taken after the GIL is released (ReleasedLock), never the
// other way round, so a thread waiting for it never blocks one that needs the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "cuda_backend.hpp"
#include "fpscore/fpscore.hpp"
#include "sparse/ordering/matching.hpp"
#include "sparse/numeric/threshold_pivoting_lu.hpp"

namespace py = pybind11;
using namespace fpscore;

namespace {

template <class T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Hands a vector to numpy without copying its data.
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
    auto* owner = new std::vector<T>(std::move(v));
    py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return py::array_t<T>(std::move(shape), owner->data(), free_when_done);
}

// A float64 array (or an absent optional one) as the C++ API's sized view.
ArrayView view(const Array<double>& a) { return {a.data(), static_cast<std::size_t>(a.size())}; }
ArrayView view(const std::optional<Array<double>>& a) { return a ? view(*a) : ArrayView{}; }

void expect_shape(const py::array& a, const std::vector<py::ssize_t>& shape, const char* name) {
    bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
    for (size_t k = 0; ok && k < shape.size(); ++k) ok = a.shape(k) == shape[k];
    if (ok) return;
    auto fmt = [](auto begin, auto end) {
        std::string s = "(";
        for (auto it = begin; it != end; ++it) s += (it == begin ? "" : ", ") + std::to_string(*it);
        return s + ")";
    };
    throw std::invalid_argument(std::string(name) + " must have shape " + fmt(shape.begin(), shape.end()) +
                                ", got " + fmt(a.shape(), a.shape() + a.ndim()));
}

// A numpy size or dimension as index_t (32-bit row, column and grid indices): larger values
// cannot be represented and are rejected instead of narrowed.
index_t to_index(py::ssize_t value, const std::string& what) {
    if (value < 0 || value > std::numeric_limits<index_t>::max())
        throw std::invalid_argument(what + " = " + std::to_string(value) + " is out of range: fpscore's indices are " +
                                    "32-bit, at most " + std::to_string(std::numeric_limits<index_t>::max()));
    return static_cast<index_t>(value);
}

// The grid (H, W) of the last two dimensions of `a` (ndim of them in all), checked against
// kMaxGridNodes before any data is converted or copied: a view of a huge grid (broadcast,
// zero strides) is rejected without allocating it.
std::pair<index_t, index_t> grid_dims(const py::array& a, py::ssize_t ndim, const char* name, const char* shape) {
    if (a.ndim() != ndim) throw std::invalid_argument(std::string(name) + " must have shape " + shape);
    const py::ssize_t H = a.shape(ndim - 2), W = a.shape(ndim - 1);
    if (H >= 0 && W >= 0 && (static_cast<long double>(H) + 2) * (static_cast<long double>(W) + 2) > kMaxGridNodes)
        throw std::invalid_argument(std::string(name) + ": the grid " + std::to_string(H) + "x" + std::to_string(W) +
                                    " is too large: (H+2)*(W+2) nodes with the ghost ring must not exceed " +
                                    std::to_string(kMaxGridNodes) + " (2^31 - 1, 32-bit node indices)");
    return {to_index(H, std::string(name) + " height"), to_index(W, std::string(name) + " width")};
}

// Releases the GIL, then locks the object's mutex (exclusively, or shared for solves);
// unlocks and takes the GIL back in the reverse order.
template <template <class> class Lock>
class ReleasedLock {
public:
    explicit ReleasedLock(std::shared_mutex& mutex) : release_(), lock_(mutex) {}

private:
    py::gil_scoped_release release_;  // constructed first, destroyed last
    Lock<std::shared_mutex> lock_;
};
using ExclusiveCall = ReleasedLock<std::unique_lock>;
using SharedCall = ReleasedLock<std::shared_lock>;

// A CSR pattern from Python, checked, with the optional grid (H, W) checked against its order.
// `view` points into `indptr` (kept here: it may be a converted copy) and the caller's indices.
struct Pattern {
    Array<offset_t> indptr;
    CsrView view;
    std::optional<GridShape> grid;
};

// The order of a CSR matrix from len(indptr), checked before indptr is converted: at most
// 2^31 - 2 rows (32-bit row and column indices, and n + 1 must fit too).
index_t csr_order(const py::array& indptr) {
    if (indptr.ndim() != 1) throw std::invalid_argument("indptr must be one-dimensional");
    const py::ssize_t n = indptr.size() - 1;
    if (n < 1) throw std::invalid_argument("the matrix must have at least one row");
    if (n >= std::numeric_limits<index_t>::max())
        throw std::invalid_argument("the matrix order n = len(indptr) - 1 = " + std::to_string(n) +
                                    " is too large: fpscore's row and column indices are 32-bit, n <= " +
                                    std::to_string(std::numeric_limits<index_t>::max() - 1));
    return static_cast<index_t>(n);
}

Pattern read_pattern(const py::array& indptr_in, const Array<index_t>& indices,
                     std::optional<std::pair<index_t, index_t>> grid) {
    const auto n = csr_order(indptr_in);  // before indptr is converted (copied)
    auto indptr = py::cast<Array<offset_t>>(indptr_in);
    if (indptr.at(n) != indices.size())
        throw std::invalid_argument("CSR arrays disagree: indptr[-1] = " + std::to_string(indptr.at(n)) +
                                    ", len(indices) = " + std::to_string(indices.size()));
    const offset_t* row_starts = indptr.data();
    Pattern pattern{std::move(indptr), CsrView{n, row_starts, indices.data()}, std::nullopt};
    if (grid) {
        if (grid->first < 1 || grid->second < 1 || static_cast<long long>(grid->first) * grid->second != n)
            throw std::invalid_argument("grid must be (H, W) with H, W >= 1 and H*W equal to the matrix order " +
                                        std::to_string(n) + ", got (" + std::to_string(grid->first) + ", " +
                                        std::to_string(grid->second) + ")");
        pattern.grid = GridShape{grid->first, grid->second, false, false};
    }
    return pattern;
}

// `data` as one value per stored entry of a pattern with `nnz` entries.
void check_values(const Array<double>& data, py::ssize_t nnz) {
    if (data.ndim() != 1 || data.size() != nnz)
        throw std::invalid_argument("data must hold one value per stored entry of the pattern: " + std::to_string(nnz) +
                                    " values, got " + std::to_string(data.size()) + " in " +
                                    std::to_string(data.ndim()) + " dimensions");
}

// Right-hand sides b of shape (n,) or (n, k), copied into the vector that the solve overwrites.
struct RightHandSides {
    std::vector<double> x;
    index_t count = 0;
    std::vector<py::ssize_t> shape;
};
RightHandSides copy_right_hand_sides(const py::array& b_in, index_t n) {
    if ((b_in.ndim() != 1 && b_in.ndim() != 2) || b_in.shape(0) != n)
        throw std::invalid_argument("b must have shape (" + std::to_string(n) + ",) or (" + std::to_string(n) +
                                    ", k)");
    const index_t count = to_index(b_in.ndim() == 2 ? b_in.shape(1) : 1, "number of right-hand sides k");
    const auto b = py::cast<Array<double>>(b_in);
    return {std::vector<double>(b.data(), b.data() + b.size()), count,
            std::vector<py::ssize_t>(b.shape(), b.shape() + b.ndim())};
}

// The Python-facing sparse LU: owns its symbolic analysis and numeric factors.
class PySparseLU {
public:
    PySparseLU(const py::array& indptr_in, const Array<index_t>& indices, const Array<double>& data,
               const std::string& ordering, std::optional<std::pair<index_t, index_t>> grid,
               double pivot_tolerance, int threads) {
        const Pattern pattern = read_pattern(indptr_in, indices, grid);
        check_values(data, indices.size());
        const Ordering kind = parse_ordering(ordering);
        py::gil_scoped_release release;
        lu_ = std::make_unique<SparseLU>(std::make_shared<const SymbolicLU>(pattern.view, kind, pattern.grid),
                                         pivot_tolerance, threads);
        lu_->factor(data.data(), static_cast<std::size_t>(data.size()));
    }

    void refactor(const Array<double>& data) {
        check_values(data, static_cast<py::ssize_t>(lu_->symbolic().nnz_matrix()));
        ExclusiveCall call(mutex_);
        lu_->factor(data.data(), static_cast<std::size_t>(data.size()));
    }

    py::array_t<double> solve(const py::array& b_in) const {
        auto rhs = copy_right_hand_sides(b_in, lu_->symbolic().n());
        if (rhs.count > 0) {
            SharedCall call(mutex_);
            lu_->solve(rhs.x.data(), rhs.x.size(), rhs.count);
        }
        return to_numpy(std::move(rhs.x), std::move(rhs.shape));
    }

    const SymbolicLU& symbolic() const { return lu_->symbolic(); }
    const SparseLU& lu() const { return *lu_; }

private:
    std::unique_ptr<SparseLU> lu_;
    mutable std::shared_mutex mutex_;  // see the top of this file
};

// The Python-facing general LU (fpscore.SparseLU): any nonsingular matrix. Its solves
// refine and may refactorise (Matched falling back to Partial), so they lock exclusively.
class PyGeneralLU {
public:
    PyGeneralLU(const py::array& indptr_in, const Array<index_t>& indices, const Array<double>& data,
                const std::string& ordering, std::optional<std::pair<index_t, index_t>> grid,
                const std::string& pivoting, double pivot_tolerance, int threads, int max_refinement_steps) {
        const Pattern pattern = read_pattern(indptr_in, indices, grid);
        check_values(data, indices.size());
        GeneralLUOptions options;
        options.ordering = parse_ordering(ordering);
        options.pivoting = parse_pivoting(pivoting);
        options.pivot_tolerance = pivot_tolerance;
        options.threads = threads;
        options.max_refinement_steps = max_refinement_steps;
        nnz_ = static_cast<py::ssize_t>(indices.size());
        py::gil_scoped_release release;
        lu_ = std::make_unique<GeneralLU>(pattern.view, data.data(), static_cast<std::size_t>(data.size()), options,
                                          pattern.grid);
    }

    void refactor(const Array<double>& data) {
        check_values(data, nnz_);
        ExclusiveCall call(mutex_);
        lu_->factor(data.data(), static_cast<std::size_t>(data.size()));
    }

    // (x, refinement steps, backward error)
    py::tuple solve(const py::array& b_in) {
        auto rhs = copy_right_hand_sides(b_in, lu_->n());
        SolveReport report{0, 0.0};
        if (rhs.count > 0) {
            ExclusiveCall call(mutex_);
            report = lu_->solve(rhs.x.data(), rhs.x.size(), rhs.count);
        }
        return py::make_tuple(to_numpy(std::move(rhs.x), std::move(rhs.shape)), report.refinement_steps,
                              report.backward_error);
    }

    // A snapshot of the state a property reads, taken under the lock.
    struct State {
        FactorReport report;
        std::shared_ptr<const SymbolicLU> symbolic;
        std::vector<index_t> row_of_column;
        int threads = 1;
    };
    State state() const {
        State s;
        SharedCall call(mutex_);
        s.report = lu_->factor_report();
        s.symbolic = lu_->symbolic();
        s.row_of_column = lu_->row_of_column();
        s.threads = lu_->threads();
        return s;
    }
    index_t n() const { return lu_->n(); }

private:
    std::unique_ptr<GeneralLU> lu_;
    py::ssize_t nnz_ = 0;              // values per matrix
    mutable std::shared_mutex mutex_;  // see the top of this file
};

// Many matrices with one pattern: factorised and solved together (interleaved lanes).
class PyBatchedLU {
public:
    PyBatchedLU(const py::array& indptr_in, const Array<index_t>& indices, index_t batch,
                const std::string& ordering, std::optional<std::pair<index_t, index_t>> grid, int threads,
                double pivot_tolerance) {
        const Pattern pattern = read_pattern(indptr_in, indices, grid);
        const Ordering kind = parse_ordering(ordering);
        py::gil_scoped_release release;
        lu_ = std::make_unique<BatchedLU>(pattern.view, batch, kind, pattern.grid, threads, pivot_tolerance);
    }

    void factor(const Array<double>& data) {
        expect_shape(data, {lu_->batch(), static_cast<py::ssize_t>(lu_->symbolic().nnz_matrix())}, "data");
        ExclusiveCall call(mutex_);
        lu_->factor(data.data(), static_cast<std::size_t>(data.size()));
    }

    py::array_t<double> solve(const Array<double>& b) const {
        expect_shape(b, {lu_->batch(), lu_->symbolic().n()}, "b");
        std::vector<double> x(b.data(), b.data() + b.size());
        {
            SharedCall call(mutex_);
            lu_->solve(x.data(), x.size());
        }
        return to_numpy(std::move(x), {lu_->batch(), lu_->symbolic().n()});
    }

    py::array_t<double> factor_solve(const Array<double>& data, const Array<double>& b) {
        expect_shape(data, {lu_->batch(), static_cast<py::ssize_t>(lu_->symbolic().nnz_matrix())}, "data");
        expect_shape(b, {lu_->batch(), lu_->symbolic().n()}, "b");
        std::vector<double> x(b.data(), b.data() + b.size());
        {
            ExclusiveCall call(mutex_);
            lu_->factor_solve(data.data(), static_cast<std::size_t>(data.size()), x.data(), x.size());
        }
        return to_numpy(std::move(x), {lu_->batch(), lu_->symbolic().n()});
    }

    const BatchedLU& lu() const { return *lu_; }

private:
    std::unique_ptr<BatchedLU> lu_;
    mutable std::shared_mutex mutex_;  // see the top of this file
};

py::tuple solve_log_density_py(const py::array& m0_in, const Array<double>& times, const Array<double>& g,
                               double h, const std::string& bc, const std::string& scheme,
                               const std::string& iteration, double tol, int max_iter, int threads,
                               std::optional<Array<double>> drift, std::optional<Array<double>> drift_div,
                               std::optional<Array<double>> ghosts, const std::string& backend, int device,
                               int max_chunk) {
    if (backend != "cpu" && backend != "cuda")
        throw std::invalid_argument("backend must be 'cpu' or 'cuda', got '" + backend + "'");
    // Sizes first, on the unconverted array: B, H and W must fit index_t and the grid
    // kMaxGridNodes (the products B*(N+1)*H*W are 64-bit throughout).
    const auto [H, W] = grid_dims(m0_in, 3, "m0", "(B, H, W)");
    const index_t B = to_index(m0_in.shape(0), "batch B");
    if (times.ndim() != 1 || times.size() < 2) throw std::invalid_argument("times must have shape (N+1,), N >= 1");
    const index_t N = to_index(times.size() - 1, "n_steps N");
    const auto m0 = py::cast<Array<double>>(m0_in);
    const py::ssize_t levels = py::ssize_t{N} + 1;
    expect_shape(g, {levels}, "g");
    FPProblem pb;
    pb.grid = {H, W, h};
    pb.boundary = parse_boundary(bc);
    pb.batch = B;
    pb.n_steps = N;
    pb.times = {times.data(), static_cast<std::size_t>(times.size())};
    pb.g = {g.data(), static_cast<std::size_t>(g.size())};
    if (drift) {
        expect_shape(*drift, {levels, 2, H, W}, "drift");
        pb.drift = view(*drift);
    }
    if (drift_div) {
        expect_shape(*drift_div, {levels, H, W}, "drift divergence");
        pb.drift_div = view(*drift_div);
    }
    if (ghosts) {
        expect_shape(*ghosts, {levels, B, H + 2, W + 2}, "ghosts");
        pb.ghosts = view(*ghosts);
    }
    FPOptions opt;
    opt.scheme = parse_scheme(scheme);
    opt.iteration = parse_iteration(iteration);
    opt.tol = tol;
    opt.max_iter = max_iter;
    opt.threads = threads;
    FPSolution sol;
    {
        py::gil_scoped_release release;
        sol = backend == "cuda" ? fpscore_bindings::solve_on_cuda(pb, view(m0), opt, device, max_chunk)
                                : solve_log_density(pb, view(m0), opt);
    }
    return py::make_tuple(to_numpy(std::move(sol.m), {levels, B, H, W}),
                          to_numpy(std::move(sol.score), {levels, B, 2, H, W}),
                          to_numpy(std::move(sol.iterations), {N}));
}

py::tuple assemble_fp_system_py(const py::array& m_prev_in, const py::array& m_lag_in, double g, double dt,
                                double h, const std::string& bc, const std::string& scheme,
                                std::optional<Array<double>> drift, std::optional<Array<double>> drift_div,
                                std::optional<Array<double>> ghosts) {
    const auto [H, W] = grid_dims(m_prev_in, 2, "m_prev", "(H, W)");
    expect_shape(m_lag_in, {H, W}, "m_lag");
    const auto m_prev = py::cast<Array<double>>(m_prev_in);
    const auto m_lag = py::cast<Array<double>>(m_lag_in);
    if (drift) expect_shape(*drift, {2, H, W}, "drift");
    if (drift_div) expect_shape(*drift_div, {H, W}, "drift divergence");
    if (ghosts) expect_shape(*ghosts, {H + 2, W + 2}, "ghosts");
    FPSystem sys = assemble_fp_system({H, W, h}, parse_boundary(bc), parse_scheme(scheme), view(m_prev), view(m_lag), g,
                                      dt, view(drift), view(drift_div), view(ghosts));
    const auto nnz = static_cast<py::ssize_t>(sys.data.size());
    const py::ssize_t cells = py::ssize_t{H} * W;
    return py::make_tuple(to_numpy(std::move(sys.indptr), {cells + 1}), to_numpy(std::move(sys.indices), {nnz}),
                          to_numpy(std::move(sys.data), {nnz}), to_numpy(std::move(sys.rhs), {cells}));
}

py::array_t<double> central_gradient_py(const py::array& m_in, double h, const std::string& bc,
                                        std::optional<Array<double>> ghosts) {
    const auto [H, W] = grid_dims(m_in, 2, "m", "(H, W)");
    const auto m = py::cast<Array<double>>(m_in);
    if (ghosts) expect_shape(*ghosts, {H + 2, W + 2}, "ghosts");
    return to_numpy(central_gradient({H, W, h}, parse_boundary(bc), view(m), view(ghosts)),
                    {2, H, W});
}

// The threshold-partial-pivoting LU (private: `_ThresholdPivotingLU`, for the integrator and tests).
class PyThresholdPivotingLU {
public:
    PyThresholdPivotingLU(const py::array& indptr_in, const Array<index_t>& indices,
                          const Array<index_t>& column_order, double threshold, double pivot_tolerance) {
        const Pattern pattern = read_pattern(indptr_in, indices, std::nullopt);
        if (column_order.ndim() != 1)
            throw std::invalid_argument("column_order must be one-dimensional, got " +
                                        std::to_string(column_order.ndim()) + " dimensions");
        std::vector<index_t> order(column_order.data(), column_order.data() + column_order.size());
        py::gil_scoped_release release;
        lu_ = std::make_unique<detail::ThresholdPivotingLU>(pattern.view, std::move(order), threshold,
                                                            pivot_tolerance);
        n_ = pattern.view.n;
    }

    void factor(const Array<double>& data) {
        if (data.ndim() != 1)
            throw std::invalid_argument("data must be one-dimensional (one value per stored entry), got " +
                                        std::to_string(data.ndim()) + " dimensions");
        ExclusiveCall call(mutex_);
        lu_->factor(data.data(), static_cast<std::size_t>(data.size()));
    }

    py::array_t<double> solve(const py::array& b_in) const {
        auto rhs = copy_right_hand_sides(b_in, n_);
        {
            SharedCall call(mutex_);
            lu_->solve(rhs.x.data(), rhs.x.size(), rhs.count);
        }
        return to_numpy(std::move(rhs.x), std::move(rhs.shape));
    }

    const detail::ThresholdPivotingLU& lu() const { return *lu_; }
    index_t n() const { return n_; }

private:
    std::unique_ptr<detail::ThresholdPivotingLU> lu_;
    index_t n_ = 0;
    mutable std::shared_mutex mutex_;  // see the top of this file
};

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "fpscore C++ core: sparse LU and the log-density Fokker-Planck solver";
    m.attr("__version__") = version();
    m.attr("MAX_GRID_NODES") = kMaxGridNodes;

    py::register_exception<SingularMatrixError>(m, "SingularMatrixError", PyExc_RuntimeError);
    py::register_exception<ConvergenceError>(m, "ConvergenceError", PyExc_RuntimeError);

    fpscore_bindings::bind_cuda(m);
    m.def("simd_level", [] { return std::string(simd_level()); },
          "The instruction-set level the kernels run at: 'baseline', 'avx2' or 'avx512' (the CPU's best, or "
          "the environment variable FPSCORE_SIMD's). Raises ValueError when FPSCORE_SIMD is invalid.");
    m.def("simd_levels", &simd_levels, "The kernel levels this CPU can run, lowest first.");

    py::class_<PySparseLU>(m, "SparseLU")
        .def(py::init<const py::array&, const Array<index_t>&, const Array<double>&, const std::string&,
                      std::optional<std::pair<index_t, index_t>>, double, int>(),
             py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("ordering") = "auto",
             py::arg("grid") = py::none(), py::arg("pivot_tolerance") = SparseLU::kDefaultPivotTolerance,
             py::arg("threads") = 1)
        .def("refactor", &PySparseLU::refactor, py::arg("data"))
        .def("solve", &PySparseLU::solve, py::arg("b"))
        .def_property_readonly("n", [](const PySparseLU& s) { return s.symbolic().n(); })
        .def_property_readonly("threads", [](const PySparseLU& s) { return s.lu().threads(); })
        .def_property_readonly("nnz", [](const PySparseLU& s) { return s.symbolic().nnz_factors(); })
        .def_property_readonly("nnz_matrix", [](const PySparseLU& s) { return s.symbolic().nnz_matrix(); })
        .def_property_readonly("nnz_structural", [](const PySparseLU& s) { return s.symbolic().nnz_structural(); })
        .def_property_readonly("factor_flops", [](const PySparseLU& s) { return s.symbolic().factor_flops(); })
        .def_property_readonly("ordering", [](const PySparseLU& s) { return to_string(s.symbolic().ordering()); })
        .def_property_readonly("permutation", [](const PySparseLU& s) {
            return py::array_t<index_t>(static_cast<py::ssize_t>(s.symbolic().n()), s.symbolic().permutation().data());
        });

    py::class_<PyGeneralLU>(m, "GeneralLU")
        .def(py::init<const py::array&, const Array<index_t>&, const Array<double>&, const std::string&,
                      std::optional<std::pair<index_t, index_t>>, const std::string&, double, int, int>(),
             py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("ordering") = "auto",
             py::arg("grid") = py::none(), py::arg("pivoting") = "auto",
             py::arg("pivot_tolerance") = SparseLU::kDefaultPivotTolerance, py::arg("threads") = 1,
             py::arg("max_refinement_steps") = 10)
        .def("refactor", &PyGeneralLU::refactor, py::arg("data"))
        .def("solve", &PyGeneralLU::solve, py::arg("b"))
        .def_property_readonly("n", &PyGeneralLU::n)
        .def("state", [](const PyGeneralLU& s) {
            const PyGeneralLU::State st = s.state();
            py::dict d;
            d["path"] = to_string(st.report.path);
            d["matched_fell_back"] = st.report.matched_fell_back;
            d["off_diagonal_pivots"] = st.report.off_diagonal_pivots;
            d["nnz"] = st.report.nnz_factors;
            d["factor_flops"] = st.report.factor_flops;
            d["threads"] = st.threads;
            if (st.symbolic) {
                d["nnz_structural"] = st.report.path == Pivoting::Partial ? st.report.nnz_factors
                                                                          : st.symbolic->nnz_structural();
                d["ordering"] = to_string(st.symbolic->ordering());
                d["permutation"] = py::array_t<index_t>(static_cast<py::ssize_t>(st.symbolic->n()),
                                                        st.symbolic->permutation().data());
            }
            if (!st.row_of_column.empty())
                d["row_of_column"] = py::array_t<index_t>(static_cast<py::ssize_t>(st.row_of_column.size()),
                                                          st.row_of_column.data());
            return d;
        }, "The path of the last factorisation and its figures, read under the object's lock.");

    py::class_<PyBatchedLU>(m, "BatchedLU")
        .def(py::init<const py::array&, const Array<index_t>&, index_t, const std::string&,
                      std::optional<std::pair<index_t, index_t>>, int, double>(),
             py::arg("indptr"), py::arg("indices"), py::arg("batch"), py::arg("ordering") = "auto",
             py::arg("grid") = py::none(), py::arg("threads") = 1,
             py::arg("pivot_tolerance") = SparseLU::kDefaultPivotTolerance)
        .def("factor", &PyBatchedLU::factor, py::arg("data"))
        .def("solve", &PyBatchedLU::solve, py::arg("b"))
        .def("factor_solve", &PyBatchedLU::factor_solve, py::arg("data"), py::arg("b"))
        .def_property_readonly("batch", [](const PyBatchedLU& s) { return s.lu().batch(); })
        .def_property_readonly("threads", [](const PyBatchedLU& s) { return s.lu().threads(); })
        .def_property_readonly("lanes", [](const PyBatchedLU& s) { return s.lu().lanes(); })
        .def_property_readonly("nnz", [](const PyBatchedLU& s) { return s.lu().symbolic().nnz_factors(); })
        .def_property_readonly("factor_flops", [](const PyBatchedLU& s) { return s.lu().symbolic().factor_flops(); })
        .def_property_readonly("ordering", [](const PyBatchedLU& s) { return to_string(s.lu().symbolic().ordering()); });

    m.def("solve_log_density", &solve_log_density_py, py::arg("m0"), py::arg("times"), py::arg("g"), py::arg("h"),
          py::arg("bc"), py::arg("scheme"), py::arg("iteration"), py::arg("tol"), py::arg("max_iter"),
          py::arg("threads"), py::arg("drift") = py::none(), py::arg("drift_div") = py::none(),
          py::arg("ghosts") = py::none(), py::arg("backend") = "cpu", py::arg("device") = 0,
          py::arg("max_chunk") = 0);
    m.def("assemble_fp_system", &assemble_fp_system_py, py::arg("m_prev"), py::arg("m_lag"), py::arg("g"),
          py::arg("dt"), py::arg("h"), py::arg("bc"), py::arg("scheme"), py::arg("drift") = py::none(),
          py::arg("drift_div") = py::none(), py::arg("ghosts") = py::none());
    m.def("central_gradient", &central_gradient_py, py::arg("m"), py::arg("h"), py::arg("bc"),
          py::arg("ghosts") = py::none());

    py::class_<PyThresholdPivotingLU>(m, "_ThresholdPivotingLU")
        .def(py::init<const py::array&, const Array<index_t>&, const Array<index_t>&, double, double>(),
             py::arg("indptr"), py::arg("indices"), py::arg("column_order"), py::arg("threshold") = 0.1,
             py::arg("pivot_tolerance") = 0.0)
        .def("factor", &PyThresholdPivotingLU::factor, py::arg("data"))
        .def("solve", &PyThresholdPivotingLU::solve, py::arg("b"))
        .def_property_readonly("n", &PyThresholdPivotingLU::n)
        .def_property_readonly("factored", [](const PyThresholdPivotingLU& s) { return s.lu().factored(); })
        .def_property_readonly("nnz", [](const PyThresholdPivotingLU& s) { return s.lu().nnz_factors(); })
        .def_property_readonly("off_diagonal_pivots",
                               [](const PyThresholdPivotingLU& s) { return s.lu().off_diagonal_pivots(); })
        .def_property_readonly("factor_flops", [](const PyThresholdPivotingLU& s) { return s.lu().factor_flops(); });

    // Private: the maximum-product matching and scaling (MC64-style) for the sparse LU, exposed
    // for its tests. Returns (row_of_column, row_scale, column_scale).
    m.def(
        "_max_product_matching",
        [](const py::array& indptr_in, const Array<index_t>& indices, const Array<double>& data) {
            const Pattern pattern = read_pattern(indptr_in, indices, std::nullopt);
            check_values(data, indices.size());
            detail::MatchingScaling result;
            {
                py::gil_scoped_release release;
                result = detail::max_product_matching(pattern.view, data.data(), static_cast<std::size_t>(data.size()));
            }
            const auto n = static_cast<py::ssize_t>(pattern.view.n);
            return py::make_tuple(to_numpy(std::move(result.row_of_column), {n}),
                                  to_numpy(std::move(result.row_scale), {n}),
                                  to_numpy(std::move(result.column_scale), {n}));
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"));
}
