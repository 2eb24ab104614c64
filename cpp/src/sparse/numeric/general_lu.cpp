// GeneralLU: which factorisation a matrix gets (Diagonal, Matched, Partial), the fall-backs
// between them, and the refined solves. The factorisations themselves are SparseLU and
// ThresholdPivotingLU; the matching and scaling are max_product_matching's.
#include "fpscore/sparse/general_lu.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/enum_names.hpp"
#include "fpscore/errors.hpp"
#include "fpscore/sparse/sparse_lu.hpp"
#include "sparse/numeric/iterative_refinement.hpp"
#include "sparse/numeric/matched_system.hpp"
#include "sparse/numeric/threshold_pivoting_lu.hpp"
#include "sparse/ordering/matching.hpp"

namespace fpscore {

namespace {

constexpr detail::EnumNames<Pivoting, 4> kPivotingNames = {
    {Pivoting::Automatic, "auto"},
    {Pivoting::Diagonal, "diagonal"},
    {Pivoting::Matched, "matched"},
    {Pivoting::Partial, "partial"},
};

// Weakly diagonally dominant by rows, or by columns, with a nonzero diagonal: Gaussian
// elimination with diagonal pivots is then stable (growth at most 2) in any symmetric order.
// `diagonal` and `column_off` are scratch of n entries each.
bool diagonally_dominant(const CsrView& a, const double* values, std::vector<double>& diagonal,
                         std::vector<double>& column_off) {
    const auto n = static_cast<std::size_t>(a.n);
    diagonal.assign(n, 0.0);
    column_off.assign(n, 0.0);
    bool by_rows = true;
    for (index_t i = 0; i < a.n; ++i) {
        double off = 0.0;
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
            const double v = std::abs(values[p]);
            const auto j = static_cast<std::size_t>(a.indices[p]);
            if (j == static_cast<std::size_t>(i)) {
                diagonal[j] = v;
            } else {
                off += v;
                column_off[j] += v;
            }
        }
        if (diagonal[static_cast<std::size_t>(i)] == 0.0) return false;
        by_rows = by_rows && diagonal[static_cast<std::size_t>(i)] >= off;
    }
    if (by_rows) return true;
    for (std::size_t j = 0; j < n; ++j)
        if (diagonal[j] < column_off[j]) return false;
    return true;
}

void check_options(const GeneralLUOptions& o) {
    if (!(o.pivot_tolerance >= 0.0 && o.pivot_tolerance < 1.0))
        throw std::invalid_argument("pivot tolerance must lie in [0, 1), got " + std::to_string(o.pivot_tolerance));
    if (o.threads < 0) throw std::invalid_argument("threads must be >= 0, got " + std::to_string(o.threads));
    if (o.max_refinement_steps < 0)
        throw std::invalid_argument("max_refinement_steps must be >= 0, got " +
                                    std::to_string(o.max_refinement_steps));
}

}  // namespace

Pivoting parse_pivoting(const std::string& name) { return detail::parse_enum(name, "pivoting", kPivotingNames); }
std::string to_string(Pivoting pivoting) { return detail::enum_name(pivoting, kPivotingNames); }

struct GeneralLU::Impl {
    Impl(const CsrView& a, GeneralLUOptions options, const std::optional<GridShape>& grid);

    CsrView pattern() const { return {n, indptr.data(), indices.data()}; }
    void factor(const double* values);
    void factor_diagonal(const double* a_values);
    // Matched static pivoting; false when a pivot is too small (then Partial's turn).
    bool factor_matched();
    void factor_partial();
    // Analyses B (matching from the current values, B's ordering) on first need.
    void prepare_matched();
    // Solves with the current factors, no refinement: b (n, nrhs) becomes x.
    void solve_once(double* b, index_t nrhs);
    SolveReport solve(double* b, index_t nrhs);

    index_t n;
    std::vector<offset_t> indptr;
    std::vector<index_t> indices;
    GeneralLUOptions options;
    std::optional<GridShape> grid;
    std::vector<double> values;  // A's values of the last Matched or Partial factorisation
    double norm_a = 0.0;

    std::shared_ptr<const SymbolicLU> diagonal_symbolic;
    std::unique_ptr<SparseLU> diagonal_lu;

    std::unique_ptr<detail::MatchedSystem> matched;
    std::shared_ptr<const SymbolicLU> matched_symbolic;
    std::unique_ptr<SparseLU> matched_lu;
    std::unique_ptr<detail::ThresholdPivotingLU> partial_lu;
    std::vector<double> matched_values;
    std::vector<double> work;
    std::vector<double> scratch[2];  // the dominance test's

    FactorReport report;
    bool factored = false;
};

GeneralLU::Impl::Impl(const CsrView& a, GeneralLUOptions o, const std::optional<GridShape>& g)
    : n(a.n), options(o), grid(g) {
    validate_csr(a);
    check_options(options);
    indptr.assign(a.indptr, a.indptr + a.n + 1);
    indices.assign(a.indices, a.indices + a.nnz());
    // The matched system and the partial pivoting need sorted, duplicate-free rows.
    for (index_t i = 0; i < n; ++i)
        for (offset_t p = indptr[i] + 1; p < indptr[i + 1]; ++p)
            if (indices[p] <= indices[p - 1])
                throw std::invalid_argument("GeneralLU needs sorted column indices without duplicates; row " +
                                            std::to_string(i) + " is not");
}

void GeneralLU::Impl::factor_diagonal(const double* a_values) {
    if (!diagonal_lu) {
        diagonal_symbolic = std::make_shared<const SymbolicLU>(pattern(), options.ordering, grid);
        diagonal_lu = std::make_unique<SparseLU>(diagonal_symbolic, options.pivot_tolerance, options.threads);
    }
    diagonal_lu->factor(a_values, indices.size());
    report.path = Pivoting::Diagonal;
    report.nnz_factors = diagonal_symbolic->nnz_factors();
    report.factor_flops = diagonal_symbolic->factor_flops();
}

void GeneralLU::Impl::prepare_matched() {
    if (matched) return;
    auto scaling = detail::max_product_matching(pattern(), values.data(), values.size());
    auto system = std::make_unique<detail::MatchedSystem>(pattern(), std::move(scaling));
    auto symbolic = std::make_shared<const SymbolicLU>(system->pattern(), options.ordering);
    matched_lu = std::make_unique<SparseLU>(symbolic, kMatchedPivotTolerance, options.threads);
    matched_symbolic = std::move(symbolic);
    matched = std::move(system);
    matched_values.resize(values.size());
}

bool GeneralLU::Impl::factor_matched() {
    prepare_matched();
    matched->gather(values.data(), matched_values.data());
    try {
        matched_lu->factor(matched_values.data(), matched_values.size());
    } catch (const SingularMatrixError&) {
        return false;
    }
    report.path = Pivoting::Matched;
    report.nnz_factors = matched_symbolic->nnz_factors();
    report.factor_flops = matched_symbolic->factor_flops();
    return true;
}

void GeneralLU::Impl::factor_partial() {
    prepare_matched();
    matched->gather(values.data(), matched_values.data());
    if (!partial_lu)
        partial_lu = std::make_unique<detail::ThresholdPivotingLU>(
            matched->pattern(), matched_symbolic->permutation(), kPartialThreshold, kPartialPivotTolerance);
    partial_lu->factor(matched_values.data(), matched_values.size());
    report.path = Pivoting::Partial;
    report.off_diagonal_pivots = partial_lu->off_diagonal_pivots();
    report.nnz_factors = partial_lu->nnz_factors();
    report.factor_flops = partial_lu->factor_flops();
}

void GeneralLU::Impl::factor(const double* new_values) {
    factored = false;
    report = FactorReport{};
    Pivoting path = options.pivoting;
    if (path == Pivoting::Automatic)
        path = diagonally_dominant(pattern(), new_values, scratch[0], scratch[1]) ? Pivoting::Diagonal : Pivoting::Matched;
    if (path == Pivoting::Diagonal) {
        try {
            factor_diagonal(new_values);  // A's values are not kept: the Diagonal path never refines
            factored = true;
            return;
        } catch (const SingularMatrixError&) {
            if (options.pivoting == Pivoting::Diagonal) throw;
            path = Pivoting::Matched;  // dominant yet failed: singular, which Partial will confirm
        }
    }
    values.assign(new_values, new_values + indices.size());
    norm_a = detail::infinity_norm(pattern(), values.data());
    if (path == Pivoting::Matched && factor_matched()) {
        factored = true;
        return;
    }
    report.matched_fell_back = path == Pivoting::Matched;
    factor_partial();
    factored = true;
}

void GeneralLU::Impl::solve_once(double* b, index_t nrhs) {
    const std::size_t size = static_cast<std::size_t>(n) * static_cast<std::size_t>(nrhs);
    if (report.path == Pivoting::Diagonal) {
        diagonal_lu->solve(b, size, nrhs);
        return;
    }
    work.resize(size);
    matched->to_matched(b, work.data(), nrhs);
    if (report.path == Pivoting::Matched)
        matched_lu->solve(work.data(), size, nrhs);
    else
        partial_lu->solve(work.data(), size, nrhs);
    matched->to_original(work.data(), nrhs);
    std::copy(work.begin(), work.end(), b);
}

SolveReport GeneralLU::Impl::solve(double* b, index_t nrhs) {
    if (report.path == Pivoting::Diagonal) {
        solve_once(b, nrhs);
        return {0, NAN};
    }
    const std::vector<double> rhs(b, b + static_cast<std::size_t>(n) * static_cast<std::size_t>(nrhs));
    const auto attempt = [&] {
        std::copy(rhs.begin(), rhs.end(), b);
        solve_once(b, nrhs);
        const auto refined = detail::refine(pattern(), values.data(), norm_a, rhs.data(), b, nrhs,
                                            options.max_refinement_steps,
                                            [&](double* v) { solve_once(v, nrhs); });
        return SolveReport{refined.steps, refined.backward_error};
    };
    SolveReport result = attempt();
    // Static pivots on B that passed the pivot test can still grow; refinement tells.
    if (report.path == Pivoting::Matched && !(result.backward_error <= kFallbackBackwardError)) {
        factored = false;
        factor_partial();
        report.matched_fell_back = true;
        factored = true;
        result = attempt();
    }
    return result;
}

GeneralLU::GeneralLU(const CsrView& a, const double* values, std::size_t count, GeneralLUOptions options,
                     const std::optional<GridShape>& grid)
    : impl_(std::make_unique<Impl>(a, options, grid)) {
    factor(values, count);
}

GeneralLU::~GeneralLU() = default;
GeneralLU::GeneralLU(GeneralLU&&) noexcept = default;
GeneralLU& GeneralLU::operator=(GeneralLU&&) noexcept = default;

void GeneralLU::factor(const double* values, std::size_t count) {
    const std::size_t nnz = impl_->indices.size();
    if (count != nnz || (nnz > 0 && values == nullptr))
        throw std::invalid_argument("GeneralLU::factor needs " + std::to_string(nnz) +
                                    " values (one per stored entry of the matrix), got " + std::to_string(count));
    if (const auto bad = std::count_if(values, values + count, [](double v) { return !std::isfinite(v); }); bad > 0)
        throw std::invalid_argument("GeneralLU::factor: the values contain " + std::to_string(bad) +
                                    " NaN or inf value(s)");
    impl_->factor(values);
}

SolveReport GeneralLU::solve(double* b, std::size_t count, index_t nrhs) {
    if (!impl_->factored) throw std::invalid_argument("GeneralLU::solve called before a successful factor");
    if (nrhs < 1) throw std::invalid_argument("nrhs must be >= 1, got " + std::to_string(nrhs));
    const auto size = static_cast<std::size_t>(impl_->n) * static_cast<std::size_t>(nrhs);
    if (count != size || b == nullptr)
        throw std::invalid_argument("GeneralLU::solve needs n * nrhs = " + std::to_string(size) +
                                    " right-hand side values, got " + std::to_string(count));
    return impl_->solve(b, nrhs);
}

index_t GeneralLU::n() const { return impl_->n; }
const GeneralLUOptions& GeneralLU::options() const { return impl_->options; }
const FactorReport& GeneralLU::factor_report() const { return impl_->report; }
bool GeneralLU::factored() const { return impl_->factored; }

std::shared_ptr<const SymbolicLU> GeneralLU::symbolic() const {
    return impl_->report.path == Pivoting::Diagonal ? impl_->diagonal_symbolic : impl_->matched_symbolic;
}

const std::vector<index_t>& GeneralLU::row_of_column() const {
    static const std::vector<index_t> none;
    return impl_->matched ? impl_->matched->row_of_column() : none;
}

int GeneralLU::threads() const {
    if (impl_->report.path == Pivoting::Diagonal && impl_->diagonal_lu) return impl_->diagonal_lu->threads();
    if (impl_->report.path == Pivoting::Matched && impl_->matched_lu) return impl_->matched_lu->threads();
    return 1;
}

}  // namespace fpscore
