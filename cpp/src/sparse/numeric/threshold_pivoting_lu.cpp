// Gilbert–Peierls left-looking LU with threshold partial pivoting. Column k of L and U is the
// solution of L₀ x = A(:, q[k]) with L₀ the k columns of L found so far; the nonzero pattern of x
// is the set of rows reachable from A(:, q[k])'s rows in the graph of L₀ (row i → rows of L₀'s
// column pivoted on i), found by depth-first search, and the search's reverse postorder is an order
// in which the sparse triangular solve may run. So each column costs time proportional to its
// flops, not to n.
#include "sparse/numeric/threshold_pivoting_lu.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/format.hpp"
#include "fpscore/errors.hpp"

namespace fpscore::detail {

namespace {

// Grows `v` to at least `need` entries, at least doubling it (new entries uninitialised).
template <class T>
void grow_to(aligned_vector<T>& v, std::size_t need) {
    if (v.size() < need) v.resize(std::max(need, 2 * v.size()));
}

// The triangular solves on the rows of w (n × nrhs, row-major): each update touches one
// contiguous row of nrhs numbers. kRhs = 1 fixes nrhs at compile time (the common case);
// kRhs = 0 reads it from `nrhs`.
template <int kRhs>
void solve_lower_upper(index_t n, index_t nrhs_dynamic, const offset_t* l_colptr, const index_t* l_rows,
                       const double* l_values, const offset_t* u_colptr, const index_t* u_rows,
                       const double* u_values, const double* u_diagonal, double* w) {
    const std::size_t nrhs = kRhs > 0 ? static_cast<std::size_t>(kRhs) : static_cast<std::size_t>(nrhs_dynamic);
    for (index_t k = 0; k < n; ++k) {  // L y = P b, by columns of L
        const double* yk = w + k * nrhs;
        for (offset_t p = l_colptr[k]; p < l_colptr[k + 1]; ++p) {
            double* wr = w + l_rows[p] * nrhs;
            const double l = l_values[p];
            for (std::size_t c = 0; c < nrhs; ++c) wr[c] -= l * yk[c];
        }
    }
    for (index_t k = n - 1; k >= 0; --k) {  // U z = y, by columns of U, last first
        double* zk = w + k * nrhs;
        const double d = u_diagonal[k];
        for (std::size_t c = 0; c < nrhs; ++c) zk[c] /= d;
        for (offset_t p = u_colptr[k]; p < u_colptr[k + 1]; ++p) {
            double* wr = w + u_rows[p] * nrhs;
            const double u = u_values[p];
            for (std::size_t c = 0; c < nrhs; ++c) wr[c] -= u * zk[c];
        }
    }
}

}  // namespace

ThresholdPivotingLU::ThresholdPivotingLU(const CsrView& a, std::vector<index_t> column_order, double threshold,
                                         double pivot_tolerance)
    : q_(std::move(column_order)), threshold_(threshold), pivot_tolerance_(pivot_tolerance) {
    validate_csr(a);
    n_ = a.n;
    nnz_ = a.nnz();
    if (!(threshold > 0.0 && threshold <= 1.0))
        throw std::invalid_argument("pivoting threshold must lie in (0, 1], got " + str(threshold));
    if (!(pivot_tolerance >= 0.0 && pivot_tolerance <= std::numeric_limits<double>::max()))
        throw std::invalid_argument("pivot tolerance must be finite and >= 0, got " + str(pivot_tolerance));
    if (q_.size() != static_cast<std::size_t>(n_))
        throw std::invalid_argument("column order must hold n = " + std::to_string(n_) + " entries, got " +
                                    std::to_string(q_.size()));
    const auto n = static_cast<std::size_t>(n_);
    {
        std::vector<char> seen(n, 0);
        for (std::size_t k = 0; k < n; ++k) {
            const index_t j = q_[k];
            if (j < 0 || j >= n_ || seen[j])
                throw std::invalid_argument("column order must be a permutation of 0.." + std::to_string(n_ - 1) +
                                            ": entry " + std::to_string(k) + " = " + std::to_string(j) +
                                            (j < 0 || j >= n_ ? " is out of range" : " repeats"));
            seen[j] = 1;
        }
    }

    // The transpose of the CSR pattern, rows ascending in each column (rows are visited in order).
    a_colptr_.assign(n + 1, 0);
    for (offset_t p = 0; p < nnz_; ++p) ++a_colptr_[a.indices[p] + 1];
    for (std::size_t j = 0; j < n; ++j) a_colptr_[j + 1] += a_colptr_[j];
    a_rows_.resize(static_cast<std::size_t>(nnz_));
    a_source_.resize(static_cast<std::size_t>(nnz_));
    {
        std::vector<offset_t> next(a_colptr_.begin(), a_colptr_.end() - 1);
        for (index_t i = 0; i < n_; ++i)
            for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
                const offset_t slot = next[a.indices[p]]++;
                a_rows_[slot] = i;
                a_source_[slot] = p;
            }
    }
    a_values_.resize(static_cast<std::size_t>(nnz_));

    l_colptr_.assign(n + 1, 0);
    u_colptr_.assign(n + 1, 0);
    u_diagonal_.resize(n);
    row_of_step_.assign(n, 0);
    step_of_row_.assign(n, -1);
    work_.assign(n, 0.0);
    mark_.assign(n, -1);
    stack_.resize(n);
    cursor_.resize(n);
    reach_.resize(n);
    search_end_.resize(n);
    pruned_.resize(n);
}

bool ThresholdPivotingLU::factored() const { return factored_; }

offset_t ThresholdPivotingLU::nnz_factors() const { return factored_ ? l_colptr_[n_] + u_colptr_[n_] + n_ : 0; }

index_t ThresholdPivotingLU::off_diagonal_pivots() const { return factored_ ? off_diagonal_pivots_ : 0; }

double ThresholdPivotingLU::factor_flops() const { return factored_ ? flops_ : 0.0; }

index_t ThresholdPivotingLU::reach(index_t j, index_t column) {
    index_t top = n_;
    for (offset_t s = a_colptr_[j]; s < a_colptr_[j + 1]; ++s) {
        const index_t start = a_rows_[s];
        if (mark_[start] == column) continue;
        // Iterative depth-first search from `start`: stack_[0..head] is the current path and
        // cursor_[level] the next L entry to look at below stack_[level].
        index_t head = 0;
        stack_[0] = start;
        mark_[start] = column;
        cursor_[0] = step_of_row_[start] >= 0 ? l_colptr_[step_of_row_[start]] : 0;  // rows not pivoted: leaves
        while (head >= 0) {
            const index_t i = stack_[head];
            const index_t step = step_of_row_[i];
            if (step >= 0) {
                const offset_t end = search_end_[step];
                offset_t p = cursor_[head];
                while (p < end && mark_[l_rows_[p]] == column) ++p;
                if (p < end) {
                    const index_t child = l_rows_[p];
                    cursor_[head] = p + 1;
                    stack_[++head] = child;
                    mark_[child] = column;
                    cursor_[head] = step_of_row_[child] >= 0 ? l_colptr_[step_of_row_[child]] : 0;
                    continue;
                }
            }
            --head;
            reach_[--top] = i;  // postorder, written backwards: reach_[top..n) is topological
        }
    }
    return top;
}

void ThresholdPivotingLU::prune(index_t k, index_t pivot_row) {
    // Symmetric pruning (Eisenstat–Liu): when U(s, k) ≠ 0 and L(pivot_row, s) ≠ 0, every row of
    // L(:, s) not pivoted yet is also in L(:, k), reachable from s through pivot_row. Later searches
    // may skip those rows of L(:, s): they are moved behind the pivoted ones and search_end_[s] stops
    // before them. The numeric solve still uses the whole column.
    for (offset_t p = u_colptr_[k]; p < u_colptr_[k + 1]; ++p) {
        const index_t s = u_rows_[p];
        if (pruned_[s]) continue;
        const offset_t begin = l_colptr_[s], end = l_colptr_[s + 1];
        bool meets_pivot = false;
        for (offset_t q = begin; q < end && !meets_pivot; ++q) meets_pivot = l_rows_[q] == pivot_row;
        if (!meets_pivot) continue;
        offset_t head = begin, tail = end;  // [begin, head): pivoted rows; [tail, end): not pivoted
        while (head < tail) {
            if (step_of_row_[l_rows_[head]] >= 0) {
                ++head;
            } else {
                --tail;
                std::swap(l_rows_[head], l_rows_[tail]);
                std::swap(l_values_[head], l_values_[tail]);
            }
        }
        search_end_[s] = head;
        pruned_[s] = 1;
    }
}

void ThresholdPivotingLU::fail(index_t k, index_t top, const std::string& why) {
    for (index_t t = top; t < n_; ++t) work_[reach_[t]] = 0.0;
    throw SingularMatrixError("matrix is singular to working precision: column " + std::to_string(q_[k]) +
                              " of A (step " + std::to_string(k) + " of the column order) " + why);
}

void ThresholdPivotingLU::factor(const double* values, std::size_t count) {
    if (count != static_cast<std::size_t>(nnz_))
        throw std::invalid_argument("factor needs " + std::to_string(nnz_) +
                                    " values (one per stored entry of the pattern), got " + std::to_string(count));
    if (nnz_ > 0 && values == nullptr) throw std::invalid_argument("factor: values must not be null");
    for (offset_t p = 0; p < nnz_; ++p)
        if (!std::isfinite(values[p]))
            throw std::invalid_argument("matrix value " + std::to_string(p) + " (in CSR order) is not finite: " +
                                        str(values[p]));
    factored_ = false;
    for (offset_t s = 0; s < nnz_; ++s) a_values_[s] = values[a_source_[s]];
    std::fill(step_of_row_.begin(), step_of_row_.end(), -1);
    std::fill(mark_.begin(), mark_.end(), -1);
    if (l_rows_.empty()) {  // first call: room for A's pattern in each factor; later calls keep theirs
        const auto guess = static_cast<std::size_t>(nnz_ + n_);
        l_rows_.resize(guess);
        l_values_.resize(guess);
        u_rows_.resize(guess);
        u_values_.resize(guess);
    }

    offset_t lnz = 0, unz = 0;
    double flops = 0.0;
    index_t off_diagonal = 0;
    for (index_t k = 0; k < n_; ++k) {
        const index_t j = q_[k];
        const index_t top = reach(j, k);
        const auto reach_size = static_cast<std::size_t>(n_ - top);
        grow_to(l_rows_, static_cast<std::size_t>(lnz) + reach_size);
        grow_to(l_values_, l_rows_.size());
        grow_to(u_rows_, static_cast<std::size_t>(unz) + reach_size);
        grow_to(u_values_, u_rows_.size());

        // x = A(:, j); duplicates add up. The column's largest entry scales the singularity test.
        for (offset_t s = a_colptr_[j]; s < a_colptr_[j + 1]; ++s) work_[a_rows_[s]] += a_values_[s];
        double column_max = 0.0;
        for (offset_t s = a_colptr_[j]; s < a_colptr_[j + 1]; ++s)
            column_max = std::max(column_max, std::abs(work_[a_rows_[s]]));

        // x ← L₀⁻¹ x in topological order; pivoted rows give U's column.
        bool finite = true;
        for (index_t t = top; t < n_; ++t) {
            const index_t i = reach_[t];
            const index_t step = step_of_row_[i];
            if (step < 0) continue;
            const double xi = work_[i];
            finite &= std::abs(xi) <= std::numeric_limits<double>::max();
            u_rows_[unz] = step;
            u_values_[unz++] = xi;
            const offset_t begin = l_colptr_[step], end = l_colptr_[step + 1];
            for (offset_t p = begin; p < end; ++p) work_[l_rows_[p]] -= l_values_[p] * xi;
            flops += 2.0 * static_cast<double>(end - begin);
        }

        // The pivot among the rows not pivoted yet: the preferred row if large enough, else the largest.
        if (!finite) fail(k, top, "produced an entry of U that is not finite (overflow)");
        index_t largest = -1;
        double largest_abs = 0.0;
        for (index_t t = top; t < n_; ++t) {
            const index_t i = reach_[t];
            if (step_of_row_[i] >= 0) continue;
            const double v = std::abs(work_[i]);
            finite &= v <= std::numeric_limits<double>::max();
            if (v > largest_abs) {
                largest_abs = v;
                largest = i;
            }
        }
        if (!finite) fail(k, top, "produced a pivot candidate that is not finite (overflow)");
        if (largest < 0 || largest_abs == 0.0)
            fail(k, top, "has no nonzero pivot candidate left");
        if (largest_abs <= pivot_tolerance_ * column_max)
            fail(k, top, ("has no acceptable pivot: largest candidate " + str(largest_abs) + " <= pivot tolerance " +
                          str(pivot_tolerance_) + " x the column's largest entry " + str(column_max)));
        index_t pivot_row = largest;
        if (step_of_row_[j] < 0 && std::abs(work_[j]) >= threshold_ * largest_abs) pivot_row = j;
        off_diagonal += pivot_row != j;
        const double pivot = work_[pivot_row];
        u_diagonal_[k] = pivot;
        row_of_step_[k] = pivot_row;
        step_of_row_[pivot_row] = k;

        // L's column: the other candidates over the pivot; the work column back to zero.
        const offset_t l_begin = lnz;
        for (index_t t = top; t < n_; ++t) {
            const index_t i = reach_[t];
            if (step_of_row_[i] < 0) {
                l_rows_[lnz] = i;
                l_values_[lnz++] = work_[i] / pivot;
            }
            work_[i] = 0.0;
        }
        flops += static_cast<double>(lnz - l_begin);
        l_colptr_[k + 1] = lnz;
        u_colptr_[k + 1] = unz;
        search_end_[k] = lnz;
        pruned_[k] = 0;
        prune(k, pivot_row);
    }
    for (offset_t p = 0; p < lnz; ++p) l_rows_[p] = step_of_row_[l_rows_[p]];  // rows of A → pivot steps
    flops_ = flops;
    off_diagonal_pivots_ = off_diagonal;
    factored_ = true;
}

void ThresholdPivotingLU::solve(double* b, std::size_t count, index_t nrhs) const {
    if (!factored_) throw std::invalid_argument("solve needs a successful factor() first");
    if (nrhs < 0) throw std::invalid_argument("number of right-hand sides must be >= 0, got " + std::to_string(nrhs));
    const std::size_t m = static_cast<std::size_t>(nrhs);
    const auto n = static_cast<std::size_t>(n_);
    if (count != n * m)
        throw std::invalid_argument("solve needs n * nrhs = " + std::to_string(n) + " * " + std::to_string(m) +
                                    " values, got " + std::to_string(count));
    if (count == 0) return;
    if (b == nullptr) throw std::invalid_argument("solve: b must not be null");
    aligned_vector<double> w(count);
    for (std::size_t k = 0; k < n; ++k)
        std::copy_n(b + static_cast<std::size_t>(row_of_step_[k]) * m, m, w.data() + k * m);
    if (m == 1)
        solve_lower_upper<1>(n_, nrhs, l_colptr_.data(), l_rows_.data(), l_values_.data(), u_colptr_.data(),
                             u_rows_.data(), u_values_.data(), u_diagonal_.data(), w.data());
    else
        solve_lower_upper<0>(n_, nrhs, l_colptr_.data(), l_rows_.data(), l_values_.data(), u_colptr_.data(),
                             u_rows_.data(), u_values_.data(), u_diagonal_.data(), w.data());
    for (std::size_t k = 0; k < n; ++k)
        std::copy_n(w.data() + k * m, m, b + static_cast<std::size_t>(q_[k]) * m);
}

}  // namespace fpscore::detail
