// Maximum-product transversal with scaling, as MC64's option 5: the assignment problem on the
// costs c_ij = log(max_k |a_kj|) - log|a_ij| >= 0, solved by shortest augmenting paths (Dijkstra
// on reduced costs c_ij - u_i - v_j) after a greedy start. Its duals give the scaling.
#include "sparse/ordering/matching.hpp"

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

constexpr double kInf = std::numeric_limits<double>::infinity();
// Scales are exp(x) with |x| <= kMaxLogScale: finite, positive and normal.
constexpr double kMaxLogScale = 700.0;

// The nonzero entries by column with their costs, and each column's largest |a|.
struct CostColumns {
    std::vector<offset_t> ptr;  // n + 1
    std::vector<index_t> row;
    std::vector<double> cost;
    std::vector<double> column_max;
    std::vector<double> log_column_max;
};

// Rejects what the algorithm cannot take: a malformed pattern, a wrong value count, a
// non-finite value or a repeated column within a row (the matrix entry would be a sum).
void check_input(const CsrView& a, const double* values, std::size_t count) {
    validate_csr(a);
    if (count != static_cast<std::size_t>(a.nnz()))
        throw std::invalid_argument("max_product_matching needs one value per stored entry: the pattern has " +
                                    std::to_string(a.nnz()) + ", got " + std::to_string(count));
    if (count > 0 && values == nullptr) throw std::invalid_argument("max_product_matching: values must not be null");
    std::vector<index_t> seen_in_row(static_cast<std::size_t>(a.n), -1);
    for (index_t i = 0; i < a.n; ++i)
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
            const index_t j = a.indices[p];
            if (!std::isfinite(values[p]))
                throw std::invalid_argument("max_product_matching: the value of entry (" + std::to_string(i) + ", " +
                                            std::to_string(j) + ") is " + str(values[p]) +
                                            "; every value must be finite");
            if (seen_in_row[j] == i)
                throw std::invalid_argument("max_product_matching: row " + std::to_string(i) + " holds column " +
                                            std::to_string(j) + " twice; sum duplicate entries first");
            seen_in_row[j] = i;
        }
}

// A column-wise copy of the nonzero entries with c_ij = log(max_k |a_kj| / |a_ij|): the ratio
// is exact to one rounding, so the cost is accurate to its own ulp however large |a| is; only
// a column spanning more than the double range falls back to a difference of logarithms.
CostColumns cost_columns(const CsrView& a, const double* values) {
    const auto n = static_cast<std::size_t>(a.n);
    CostColumns c;
    c.ptr.assign(n + 1, 0);
    c.column_max.assign(n, 0.0);
    for (offset_t p = 0; p < a.nnz(); ++p)
        if (values[p] != 0.0) {
            const index_t j = a.indices[p];
            ++c.ptr[j + 1];
            c.column_max[j] = std::max(c.column_max[j], std::abs(values[p]));
        }
    for (std::size_t j = 0; j < n; ++j) c.ptr[j + 1] += c.ptr[j];
    c.log_column_max.resize(n);
    for (std::size_t j = 0; j < n; ++j) c.log_column_max[j] = std::log(c.column_max[j]);  // -inf if empty
    c.row.resize(static_cast<std::size_t>(c.ptr[n]));
    c.cost.resize(static_cast<std::size_t>(c.ptr[n]));
    std::vector<offset_t> next(c.ptr.begin(), c.ptr.end() - 1);
    for (index_t i = 0; i < a.n; ++i)
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
            if (values[p] == 0.0) continue;
            const index_t j = a.indices[p];
            const double magnitude = std::abs(values[p]);
            const double ratio = c.column_max[j] / magnitude;
            const offset_t q = next[j]++;
            c.row[q] = i;
            c.cost[q] = std::isfinite(ratio) ? std::log(ratio) : c.log_column_max[j] - std::log(magnitude);
        }
    return c;
}

// A binary min-heap of rows keyed by their tentative distances, with positions for decrease-key.
class RowHeap {
public:
    static constexpr index_t kAbsent = -1;  // never pushed in this search
    static constexpr index_t kDone = -2;    // popped: its distance is final

    explicit RowHeap(index_t n) : position_(static_cast<std::size_t>(n), kAbsent) {}

    bool empty() const { return heap_.empty(); }
    index_t top() const { return heap_.front(); }
    index_t position(index_t row) const { return position_[row]; }
    void forget(index_t row) { position_[row] = kAbsent; }

    // Inserts `row`, or moves it up after its key went down.
    void push_or_decrease(index_t row, const std::vector<double>& key) {
        index_t at = position_[row];
        if (at == kAbsent) {
            at = static_cast<index_t>(heap_.size());
            heap_.push_back(row);
        }
        sift_up(at, key);
    }

    index_t pop(const std::vector<double>& key) {
        const index_t row = heap_.front();
        position_[row] = kDone;
        const index_t last = heap_.back();
        heap_.pop_back();
        if (!heap_.empty()) {
            heap_.front() = last;
            position_[last] = 0;
            sift_down(0, key);
        }
        return row;
    }

    // Empties the heap; the caller forgets every row it touched.
    void clear() { heap_.clear(); }

private:
    void place(index_t at, index_t row) {
        heap_[at] = row;
        position_[row] = at;
    }
    void sift_up(index_t at, const std::vector<double>& key) {
        const index_t row = heap_[at];
        while (at > 0) {
            const index_t parent = (at - 1) / 2;
            if (key[heap_[parent]] <= key[row]) break;
            place(at, heap_[parent]);
            at = parent;
        }
        place(at, row);
    }
    void sift_down(index_t at, const std::vector<double>& key) {
        const auto size = static_cast<index_t>(heap_.size());
        const index_t row = heap_[at];
        for (;;) {
            index_t child = 2 * at + 1;
            if (child >= size) break;
            if (child + 1 < size && key[heap_[child + 1]] < key[heap_[child]]) ++child;
            if (key[row] <= key[heap_[child]]) break;
            place(at, heap_[child]);
            at = child;
        }
        place(at, row);
    }

    std::vector<index_t> heap_;
    std::vector<index_t> position_;  // heap index, kAbsent or kDone
};

// The assignment itself: matching and duals u (rows), v (columns) with c_ij - u_i - v_j >= 0 on
// every edge and = 0 on matched ones, which makes a perfect matching optimal.
class Assignment {
public:
    explicit Assignment(const CostColumns& c)
        : c_(c),
          n_(static_cast<index_t>(c.column_max.size())),
          row_of_column_(static_cast<std::size_t>(n_), -1),
          column_of_row_(static_cast<std::size_t>(n_), -1),
          u_(static_cast<std::size_t>(n_), kInf),
          v_(static_cast<std::size_t>(n_), 0.0) {}

    // Returns the number of columns left unmatched (0 unless structurally singular).
    index_t solve() {
        greedy_start();
        return augment_the_rest();
    }

    const std::vector<index_t>& row_of_column() const { return row_of_column_; }
    const std::vector<index_t>& column_of_row() const { return column_of_row_; }
    const std::vector<double>& u() const { return u_; }
    const std::vector<double>& v() const { return v_; }

private:
    bool tight(offset_t p, index_t j) const { return c_.cost[p] - u_[c_.row[p]] - v_[j] == 0.0; }

    void match(index_t i, index_t j) {
        row_of_column_[j] = i;
        column_of_row_[i] = j;
    }

    // Duals v_j = min_i c_ij = 0 and u_i = min_j c_ij, then MC64's cheap matching on the tight
    // edges: first free rows directly, then paths column - row - column - free row.
    void greedy_start() {
        for (std::size_t p = 0; p < c_.row.size(); ++p) u_[c_.row[p]] = std::min(u_[c_.row[p]], c_.cost[p]);
        for (double& ui : u_)
            if (ui == kInf) ui = 0.0;  // an empty row: no constraint, never matched
        for (index_t j = 0; j < n_; ++j)
            for (offset_t p = c_.ptr[j]; p < c_.ptr[j + 1]; ++p)
                if (column_of_row_[c_.row[p]] < 0 && tight(p, j)) {
                    match(c_.row[p], j);
                    break;
                }
        // Rows only ever become matched here, so each column's search for a free tight row can
        // resume where it stopped: O(nnz) in all.
        std::vector<offset_t> resume(c_.ptr.begin(), c_.ptr.end() - 1);
        for (index_t j = 0; j < n_; ++j) {
            if (row_of_column_[j] >= 0) continue;
            for (offset_t p = c_.ptr[j]; p < c_.ptr[j + 1] && row_of_column_[j] < 0; ++p) {
                if (!tight(p, j)) continue;
                const index_t i = c_.row[p];
                const index_t jj = column_of_row_[i];
                for (offset_t& q = resume[jj]; q < c_.ptr[jj + 1]; ++q) {
                    const index_t free_row = c_.row[q];
                    if (column_of_row_[free_row] < 0 && tight(q, jj)) {
                        match(free_row, jj);
                        match(i, j);
                        ++q;
                        break;
                    }
                }
            }
        }
    }

    // One Dijkstra search per unmatched column. A search that finds no free row leaves its
    // column unmatched, and the rows it reached can never lie on an augmenting path again
    // (they stay matched, and every edge of their columns leads back among them): they stay
    // marked done for good, so failed searches cost O(nnz log n) in all.
    index_t augment_the_rest() {
        std::vector<double> distance(static_cast<std::size_t>(n_), kInf);
        std::vector<index_t> reached_from(static_cast<std::size_t>(n_), -1);
        std::vector<index_t> done, touched;
        RowHeap heap(n_);
        // Plain pointers: the stores into the heap and distances cannot alias them.
        const offset_t* const ptr = c_.ptr.data();
        const index_t* const row = c_.row.data();
        const double* const cost = c_.cost.data();
        const double* const u = u_.data();
        const index_t* const column_of_row = column_of_row_.data();
        index_t unmatched = 0;
        for (index_t j0 = 0; j0 < n_; ++j0) {
            if (row_of_column_[j0] >= 0) continue;
            double shortest = kInf;  // the shortest augmenting path found so far, ending at free_row
            index_t free_row = -1;
            // Relaxes the edges of column j at distance dj; true when a path of length dj to a
            // free row is found, which nothing still in the heap can beat.
            auto scan = [&](index_t j, double dj) {
                const double base = dj - v_[j];  // d = dj + (c_ij - u_i - v_j)
                for (offset_t p = ptr[j], end = ptr[j + 1]; p < end; ++p) {
                    const index_t i = row[p];
                    const index_t at = heap.position(i);
                    if (at == RowHeap::kDone) continue;
                    const double d = base + (cost[p] - u[i]);
                    if (d >= shortest) continue;
                    if (column_of_row[i] < 0) {
                        shortest = d;
                        free_row = i;
                        reached_from[i] = j;
                        if (d <= dj) return true;
                    } else if (d < distance[i]) {
                        if (at == RowHeap::kAbsent) touched.push_back(i);
                        distance[i] = d;
                        reached_from[i] = j;
                        heap.push_or_decrease(i, distance);
                    }
                }
                return false;
            };
            bool found = scan(j0, 0.0);
            while (!found && !heap.empty() && distance[heap.top()] < shortest) {
                const index_t i = heap.pop(distance);
                done.push_back(i);
                found = scan(column_of_row[i], distance[i]);
            }
            if (free_row < 0) {
                ++unmatched;  // the heap is empty: every touched row is done, and stays so
                touched.clear();
                done.clear();
                continue;
            }
            // Duals: rows settled at distance d_i < D move by D - d_i, which keeps every
            // reduced cost >= 0 and makes the path's edges tight.
            for (const index_t i : done) {
                const double lift = shortest - distance[i];
                u_[i] -= lift;
                v_[column_of_row_[i]] += lift;
            }
            v_[j0] += shortest;
            for (index_t i = free_row;;) {
                const index_t j = reached_from[i];
                const index_t next = row_of_column_[j];
                match(i, j);
                if (j == j0) break;
                i = next;
            }
            heap.clear();
            for (const index_t i : touched) {
                distance[i] = kInf;
                heap.forget(i);
            }
            touched.clear();
            done.clear();
        }
        return unmatched;
    }

    const CostColumns& c_;
    index_t n_;
    std::vector<index_t> row_of_column_, column_of_row_;
    std::vector<double> u_, v_;
};

[[noreturn]] void throw_structurally_singular(const Assignment& assignment, index_t n, index_t unmatched) {
    const auto& column_of_row = assignment.column_of_row();
    const auto row = static_cast<index_t>(std::find(column_of_row.begin(), column_of_row.end(), -1) - column_of_row.begin());
    const auto& row_of_column = assignment.row_of_column();
    const auto column = static_cast<index_t>(std::find(row_of_column.begin(), row_of_column.end(), -1) - row_of_column.begin());
    throw SingularMatrixError("the matrix is structurally singular: no permutation puts nonzero entries on the whole "
                              "diagonal; " + std::to_string(unmatched) + " of the " + std::to_string(n) +
                              " rows cannot be matched to distinct columns (row " + std::to_string(row) +
                              " and column " + std::to_string(column) + " are left over)");
}

// The duals of an optimal assignment, and the logarithms of the scales they give:
// log row_scale_i = u_i + shift, log column_scale_j = v_j - log max_k|a_kj| - shift.
struct Duals {
    std::vector<double> u, v;
    double shift = 0.0;

    double log_row(index_t i) const { return u[i] + shift; }
    double log_column(const CostColumns& c, index_t j) const { return v[j] - c.log_column_max[j] - shift; }

    // Chooses the shift that minimises the largest |log scale|; true when it is <= kMaxLogScale.
    bool centre(const CostColumns& c) {
        shift = 0.0;
        double row_lo = kInf, row_hi = -kInf, column_lo = kInf, column_hi = -kInf;
        for (index_t k = 0; k < static_cast<index_t>(u.size()); ++k) {
            row_lo = std::min(row_lo, log_row(k));
            row_hi = std::max(row_hi, log_row(k));
            column_lo = std::min(column_lo, log_column(c, k));
            column_hi = std::max(column_hi, log_column(c, k));
        }
        // max(row_hi + t, -column_lo + t) = max(-row_lo - t, column_hi - t)
        shift = 0.5 * (std::max(-row_lo, column_hi) - std::max(row_hi, -column_lo));
        return std::max(row_hi, -column_lo) + shift <= kMaxLogScale;
    }
};

// Other optimal duals whose scales lie within exp(±kMaxLogScale) where the ones found do not
// (entries spanning a wide range chain into a wider range of duals). With the matching fixed,
// v_j = c_kj - u_k (k its row) and the duals are feasible iff u_i - u_k <= c_ij - c_kj on every
// other edge of column j: difference constraints, with the current reduced costs as
// non-negative weights of the changes. The largest changes within the upper bounds are then
// shortest distances, one Dijkstra from all rows at once; if they break a lower bound, no
// feasible duals fit and the caller clamps.
void fit_duals_to_range(const CostColumns& c, const std::vector<index_t>& column_of_row, Duals& duals) {
    const auto n = static_cast<index_t>(duals.u.size());
    auto& u = duals.u;
    auto& v = duals.v;
    std::vector<double> change(static_cast<std::size_t>(n));
    for (index_t k = 0; k < n; ++k) {
        // u_k <= kMaxLogScale and log column_scale = v_j - log max|a_kj| >= -kMaxLogScale (shift 0).
        const index_t j = column_of_row[k];
        const double upper = std::min(kMaxLogScale, u[k] + v[j] - c.log_column_max[j] + kMaxLogScale);
        change[k] = upper - u[k];
    }
    RowHeap heap(n);
    for (index_t k = 0; k < n; ++k) heap.push_or_decrease(k, change);
    while (!heap.empty()) {
        const index_t k = heap.pop(change);
        const index_t j = column_of_row[k];
        for (offset_t p = c.ptr[j]; p < c.ptr[j + 1]; ++p) {
            const index_t i = c.row[p];
            if (heap.position(i) == RowHeap::kDone) continue;
            const double d = change[k] + std::max(0.0, c.cost[p] - u[i] - v[j]);
            if (d < change[i]) {
                change[i] = d;
                heap.push_or_decrease(i, change);
            }
        }
    }
    for (index_t k = 0; k < n; ++k) {
        const index_t j = column_of_row[k];
        const double matched_cost = u[k] + v[j];  // c_kj: the matched edge is tight
        u[k] += change[k];
        v[j] = matched_cost - u[k];
    }
}

double clamp_log_scale(double x) { return std::clamp(x, -kMaxLogScale, kMaxLogScale); }

}  // namespace

MatchingScaling max_product_matching(const CsrView& a, const double* values, std::size_t count) {
    check_input(a, values, count);
    const index_t n = a.n;
    MatchingScaling out;
    if (n == 0) return out;
    const CostColumns costs = cost_columns(a, values);
    Assignment assignment(costs);
    const index_t unmatched = assignment.solve();
    if (unmatched > 0) throw_structurally_singular(assignment, n, unmatched);
    const auto& column_of_row = assignment.column_of_row();

    Duals duals{assignment.u(), assignment.v()};
    if (!duals.centre(costs)) {
        fit_duals_to_range(costs, column_of_row, duals);
        duals.centre(costs);  // when it still fails, the scales are clamped
    }
    out.row_scale.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) out.row_scale[i] = std::exp(clamp_log_scale(duals.log_row(i)));

    // Each column scale comes from its matched entry, 1 / (row_scale · |a|), so that entry
    // scales to 1 within two roundings; in exact arithmetic this is exp(log_column(j)).
    out.column_scale.resize(static_cast<std::size_t>(n));
    const double min_scale = std::exp(-kMaxLogScale), max_scale = std::exp(kMaxLogScale);
    for (index_t i = 0; i < n; ++i)
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
            const index_t j = a.indices[p];
            if (j != column_of_row[i] || values[p] == 0.0) continue;
            // Outside [e^-700, e^700] (an overflow or underflow of the product included) the
            // exact value is too, so clamping agrees with clamping exp(log_column(j)).
            out.column_scale[j] = std::clamp(1.0 / (out.row_scale[i] * std::abs(values[p])), min_scale, max_scale);
            break;
        }
    out.row_of_column = assignment.row_of_column();
    return out;
}

}  // namespace fpscore::detail
