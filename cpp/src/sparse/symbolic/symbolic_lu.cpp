// Symbolic analysis of P (A + Aᵀ) Pᵀ, supernode by supernode rather than entry by entry.
// One ordered pass finds the fundamental supernodes and each one's tail T_J: the U pattern
// its rows share beyond the supernode. Rows of supernode J = [j0, j1) then read
//   U(i) = {i+1, ..., j1-1} ∪ T_J,   L(i) = the columns of every K with i in T_K, then j0 .. i-1,
// so only writing out the factor pattern touches every entry.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <utility>
#include <vector>

#include "fpscore/sparse/symbolic_lu.hpp"
#include "sparse/graph.hpp"
#include "sparse/ordering/orderings.hpp"
#include "sparse/symbolic/symbolic_plan.hpp"

namespace fpscore {
namespace detail {
namespace {

// A partition of the rows into supernodes with their tails T_J (ascending).
struct Supernodes {
    std::vector<index_t> start;     // supernode J holds rows start[J] .. start[J+1]-1
    std::vector<index_t> tail;      // |T_J|
    std::vector<offset_t> tail_at;  // T_J is tails[tail_at[J] ..]
    std::vector<index_t> tails;
    index_t count() const { return static_cast<index_t>(start.size()) - 1; }
    index_t size(index_t J) const { return start[J + 1] - start[J]; }
};

// The neighbours k > j of row j in the new numbering, ascending: sorted by insertion as
// they come (rows are short), or at the end when many.
void neighbours_above(const Graph& g, const std::vector<index_t>& perm, const std::vector<index_t>& iperm,
                      index_t j, std::vector<index_t>& above) {
    above.clear();
    const index_t v = perm[j];
    const bool many = g.degree(v) > 16;
    for (offset_t p = g.ptr[v]; p < g.ptr[v + 1]; ++p) {
        const index_t k = iperm[g.adj[p]];
        if (k <= j) continue;
        above.push_back(k);
        if (!many)
            for (auto at = above.end() - 1; at != above.begin() && *(at - 1) > k; --at) std::swap(*at, *(at - 1));
    }
    if (many) std::sort(above.begin(), above.end());
}

// Fundamental supernodes and their tails, in one pass over the rows in order. U(j) is the
// union of j's entries beyond j and of U(c) \ {j} over j's children c in the elimination
// tree (whose parent is the first entry of U(c)). Row j joins j-1's supernode when
// U(j-1) = {j} ∪ U(j), i.e. when j-1 is a child of j and nothing else adds to U(j); then
// U(j) is a suffix of U(j-1). So each supernode stores only the pattern of its first row,
// its tail being the suffix left at its last row.
Supernodes fundamental_supernodes(const Graph& g, const std::vector<index_t>& perm,
                                  const std::vector<index_t>& iperm) {
    const index_t n = g.n;
    Supernodes s;
    std::vector<index_t>& patterns = s.tails;
    // Nested dissection of a grid needs 1.5 to 1.7 times this room.
    patterns.reserve(2 * (g.adj.size() + static_cast<size_t>(n)));
    std::vector<index_t> first_child(static_cast<size_t>(n), -1), next_sibling;  // closed supernodes by parent row
    for (auto* v : {&s.start, &s.tail, &next_sibling}) v->reserve(static_cast<size_t>(n) + 1);  // a supernode a row at most
    s.tail_at.reserve(static_cast<size_t>(n));
    std::vector<index_t> member(static_cast<size_t>(n), -1);  // member[x] == j0: x in U(j0), j0 the open supernode
    std::vector<index_t> above, merged(static_cast<size_t>(n));
    offset_t open_at = 0;  // U(j-1) = patterns[open_at ..] while j-1 is in the open supernode
    auto close_open_supernode = [&] {
        const auto id = static_cast<index_t>(s.tail.size());
        s.tail.push_back(static_cast<index_t>(static_cast<offset_t>(patterns.size()) - open_at));
        s.tail_at.push_back(open_at);
        next_sibling.push_back(-1);
        if (s.tail.back() > 0) {  // the parent row is the first tail entry
            index_t& first = first_child[patterns[open_at]];
            next_sibling[id] = first;
            first = id;
        }
    };
    auto child_tail = [&](index_t c) {  // T_C \ {parent}
        const index_t* const tail = patterns.data() + s.tail_at[c];
        return std::make_pair(tail + 1, tail + s.tail[c]);
    };
    // Makes room for `more` entries, growing to the total projected from the rows so far.
    auto make_room = [&](index_t j, size_t more) {
        if (patterns.size() + more <= patterns.capacity()) return;
        const auto done = static_cast<double>(std::max(j, 1));
        const auto projected = static_cast<size_t>(1.25 * static_cast<double>(patterns.size()) * n / done);
        patterns.reserve(std::max({patterns.size() + more, projected, patterns.capacity() * 3 / 2}));
    };
    // Appends U(j) = above ∪ the children's tails without j, ascending. One or two children
    // are merged in; more are gathered by marks (member[x] = j, as the check of row j+1 would
    // set them) and sorted, so that the work stays bounded by the sizes of the parts.
    auto append_union = [&](index_t j) {
        index_t children = 0;
        size_t bound = above.size();
        for (index_t c = first_child[j]; c != -1; c = next_sibling[c], ++children) bound += s.tail[c];
        make_room(j, bound);
        const index_t first = first_child[j];
        if (children > 2) {
            const auto begin = static_cast<std::ptrdiff_t>(patterns.size());
            for (const index_t x : above) member[x] = j, patterns.push_back(x);
            for (index_t c = first; c != -1; c = next_sibling[c])
                for (auto [x, last] = child_tail(c); x != last; ++x)
                    if (member[*x] != j) member[*x] = j, patterns.push_back(*x);
            std::sort(patterns.begin() + begin, patterns.end());
            return;
        }
        const index_t* acc = above.data();
        const index_t* acc_end = acc + above.size();
        if (children == 2) {
            const auto [x, last] = child_tail(next_sibling[first]);
            acc_end = std::set_union(acc, acc_end, x, last, merged.data());
            acc = merged.data();
        }
        if (children == 0) {
            for (const index_t* x = acc; x != acc_end; ++x) patterns.push_back(*x);
            return;
        }
        const size_t begin = patterns.size();  // the room is there: no reallocation
        patterns.resize(begin + static_cast<size_t>(acc_end - acc) + static_cast<size_t>(s.tail[first]));
        const auto [x, last] = child_tail(first);
        const index_t* end = std::set_union(acc, acc_end, x, last, patterns.data() + begin);
        patterns.resize(static_cast<size_t>(end - patterns.data()));
    };
    for (index_t j = 0; j < n; ++j) {
        neighbours_above(g, perm, iperm, j, above);
        if (j > 0) {
            if (open_at < static_cast<offset_t>(patterns.size()) && patterns[open_at] == j) {  // j-1 is a child of j
                // j's own few entries are looked up in U(j-1); the other children's tails, by
                // marks set once per supernode, and only when needed.
                const auto previous = patterns.begin() + open_at;
                bool adds = false;
                for (const index_t x : above) adds = adds || !std::binary_search(previous, patterns.end(), x);
                const index_t j0 = s.start.back();
                if (!adds && first_child[j] != -1 && member[j] != j0)
                    for (auto x = previous; x != patterns.end(); ++x) member[*x] = j0;
                for (index_t c = first_child[j]; c != -1 && !adds; c = next_sibling[c])
                    for (auto [x, last] = child_tail(c); x != last && !adds; ++x) adds = member[*x] != j0;
                if (!adds) {
                    ++open_at;
                    continue;
                }
            }
            close_open_supernode();
        }
        s.start.push_back(j);
        open_at = static_cast<offset_t>(patterns.size());
        append_union(j);
    }
    if (n > 0) close_open_supernode();
    s.start.push_back(n);
    return s;
}

// Merges small supernodes into their parent when the parent comes right after them, at
// the price of explicit zeros in the merged rows: fewer, larger dense fronts. A merged
// group [m0, m1) keeps the tail of its last supernode.
Supernodes merge_small_supernodes(Supernodes s) {
    struct Group {
        index_t start, end;  // rows
        index_t tail;        // |T|
        offset_t tail_at;    // T in s.tails
        double zeros;        // explicit zeros the merges added to the group's U part
    };
    // Allowed fraction of explicit zeros in the merged U part, by merged size (tuned on grids).
    auto acceptable = [](double size, double zero_fraction) {
        return (size <= 8 && zero_fraction < 0.5) || (size <= 16 && zero_fraction < 0.2) ||
               (size <= 32 && zero_fraction < 0.05) || zero_fraction < 0.01;
    };
    std::vector<Group> groups;
    bool merged_any = false;
    for (index_t J = 0; J < s.count(); ++J) {
        Group g{s.start[J], s.start[J + 1], s.tail[J], s.tail_at[J], 0.0};
        while (!groups.empty()) {
            const Group& c = groups.back();
            // c must end right before g and have its parent (first tail entry) in g.
            if (c.end != g.start || c.tail == 0 || s.tails[c.tail_at] >= g.end) break;
            const double sc = c.end - c.start, sg = g.end - g.start, size = sc + sg;
            const double zeros = c.zeros + g.zeros + sc * (sg + g.tail - c.tail);
            const double entries = size * g.tail + size * (size - 1) / 2;
            if (!acceptable(size, zeros / entries)) break;
            g.start = c.start;
            g.zeros = zeros;
            groups.pop_back();
            merged_any = true;
        }
        groups.push_back(g);
    }
    if (!merged_any) return s;
    Supernodes merged;
    merged.tails = std::move(s.tails);
    for (const Group& g : groups) {
        merged.start.push_back(g.start);
        merged.tail.push_back(g.tail);
        merged.tail_at.push_back(g.tail_at);
    }
    merged.start.push_back(s.start.back());
    return merged;
}

// Copies a short run of column indices (a library call costs more than the copy).
void copy_columns(const index_t* from, index_t count, index_t* to) {
    for (index_t k = 0; k < count; ++k) to[k] = from[k];
}

// The factor rows [L part] [diagonal] [U part] of the supernodal pattern.
void write_rows(const Supernodes& s, index_t n, std::vector<offset_t>& row_ptr, std::vector<offset_t>& diag,
                std::vector<index_t>& cols) {
    // Row i of J = [j0, j1) has |L(i)| = (i - j0) + the sizes of the K with i in T_K, a diagonal,
    // and (j1 - 1 - i) + |T_J| entries of U.
    row_ptr.assign(static_cast<size_t>(n) + 1, 0);
    for (index_t J = 0; J < s.count(); ++J) {
        const index_t j0 = s.start[J], j1 = s.start[J + 1];
        for (offset_t q = s.tail_at[J]; q < s.tail_at[J] + s.tail[J]; ++q) row_ptr[s.tails[q] + 1] += j1 - j0;
        for (index_t i = j0; i < j1; ++i) row_ptr[i + 1] += (i - j0) + (j1 - i) + s.tail[J];
    }
    for (index_t i = 0; i < n; ++i) row_ptr[i + 1] += row_ptr[i];
    cols.resize(static_cast<size_t>(row_ptr[n]));
    // Supernodes in ascending order append j0 .. j1-1 to the L parts of their tail rows, so
    // when J comes, each of its rows i has its L part written up to column j0 and ends with
    // the same segment j0 .. j1-1, T_J. `diag` follows the L parts as they grow.
    diag.assign(row_ptr.begin(), row_ptr.end() - 1);
    for (index_t J = 0; J < s.count(); ++J) {
        const index_t j0 = s.start[J], j1 = s.start[J + 1], size = j1 - j0, width = size + s.tail[J];
        const index_t* const tail = &s.tails[static_cast<size_t>(s.tail_at[J])];
        index_t* const segment = &cols[static_cast<size_t>(diag[j0])];
        std::iota(segment, segment + size, j0);
        copy_columns(tail, s.tail[J], segment + size);
        for (index_t i = j0 + 1; i < j1; ++i) copy_columns(segment, width, &cols[static_cast<size_t>(diag[i])]);
        for (index_t i = j0; i < j1; ++i) diag[i] += i - j0;
        if (size == 1) {  // most supernodes: one column to append, without a copy loop
            for (index_t k = 0; k < s.tail[J]; ++k) cols[static_cast<size_t>(diag[tail[k]]++)] = j0;
            continue;
        }
        for (index_t k = 0; k < s.tail[J]; ++k) {
            offset_t& next = diag[tail[k]];
            copy_columns(segment, size, &cols[static_cast<size_t>(next)]);
            next += size;
        }
    }
}

// Where each entry of A lands in the factor values, in O(1) per entry. Row i of supernode
// [i0, i1) holds i0 .. i1-1 around its diagonal and then T. An entry (i, j) left of i0 lies
// in the run of j's supernode J within row i's L part; the runs are laid out as write_rows
// does, visiting the supernodes in order, and such an entry is placed when J's run in row i
// is. Until then it holds -1 - j, and each row keeps its least waiting column. Placing one
// run rescans the row, so long rows search their L part instead.
std::vector<offset_t> factor_positions(const CsrView& a, const std::vector<index_t>& perm,
                                       const std::vector<index_t>& iperm, const std::vector<offset_t>& row_ptr,
                                       const std::vector<offset_t>& diag, const std::vector<index_t>& cols,
                                       const std::vector<index_t>& supernode_end) {
    constexpr offset_t kLongRow = 16;
    const auto n = static_cast<size_t>(a.n);
    std::vector<offset_t> at(static_cast<size_t>(a.nnz()));
    std::vector<index_t> in_tail(n);  // index in the current supernode's tail T
    struct RowState {
        index_t least_waiting;  // least column of the row's entries left of its supernode
        index_t laid;           // L entries laid out so far
    };
    std::vector<RowState> rows(n, RowState{a.n, 0});
    auto place_by_search = [&](index_t i, index_t r) {  // the waiting entries of row i
        const auto first = cols.begin() + row_ptr[i], last = cols.begin() + diag[i];
        for (offset_t p = a.indptr[r]; p < a.indptr[r + 1]; ++p)
            if (at[p] < 0) at[p] = std::lower_bound(first, last, static_cast<index_t>(-1 - at[p])) - cols.begin();
        rows[i].least_waiting = a.n;
    };
    for (index_t i0 = 0; i0 < a.n; i0 = supernode_end[i0]) {
        const index_t i1 = supernode_end[i0];
        const offset_t tail_first = diag[i0] + (i1 - i0);
        for (offset_t q = tail_first; q < row_ptr[i0 + 1]; ++q) in_tail[cols[q]] = static_cast<index_t>(q - tail_first);
        for (index_t i = i0; i < i1; ++i) {
            const index_t r = perm[i];
            const bool long_row = a.indptr[r + 1] - a.indptr[r] > kLongRow;
            for (offset_t p = a.indptr[r]; p < a.indptr[r + 1]; ++p) {
                const index_t j = iperm[a.indices[p]];
                if (j >= i0) {
                    at[p] = j < i1 ? diag[i] + (j - i) : diag[i] + (i1 - i) + in_tail[j];
                } else {
                    at[p] = -1 - j;
                    rows[i].least_waiting = std::min(rows[i].least_waiting, j);
                }
            }
            if (long_row) place_by_search(i, r);
        }
    }
    for (index_t j0 = 0; j0 < a.n; j0 = supernode_end[j0]) {
        const index_t j1 = supernode_end[j0];
        for (offset_t q = diag[j0] + (j1 - j0); q < row_ptr[j0 + 1]; ++q) {
            const index_t t = cols[q];
            RowState& row = rows[t];
            if (row.least_waiting < j1) {  // place row t's entries in columns j0 .. j1-1
                const index_t r = perm[t];
                row.least_waiting = a.n;
                for (offset_t p = a.indptr[r]; p < a.indptr[r + 1]; ++p) {
                    if (at[p] >= 0) continue;
                    const auto j = static_cast<index_t>(-1 - at[p]);
                    if (j < j1)
                        at[p] = row_ptr[t] + row.laid + (j - j0);
                    else
                        row.least_waiting = std::min(row.least_waiting, j);
                }
            }
            row.laid += j1 - j0;
        }
    }
    return at;
}

void plan_fronts(SymbolicPlan& plan);

void analyse(SymbolicPlan& s, const CsrView& a, const Graph& graph, Elimination elimination) {
    s.n = a.n;
    const auto n = static_cast<size_t>(s.n);
    std::vector<index_t> iperm(n);
    for (index_t k = 0; k < s.n; ++k) iperm[s.perm[k]] = k;
    const bool dense_fronts = elimination == Elimination::DenseFronts ||
                              (elimination == Elimination::Automatic && s.n >= kDenseFrontsFrom);
    {
        Supernodes supernodes = fundamental_supernodes(graph, s.perm, iperm);
        // |U(k)| for row k of J = [j0, j1) is (j1 - 1 - k) + |T_J|; the L parts hold as many.
        s.nnz_structural = s.n;
        for (index_t J = 0; J < supernodes.count(); ++J) {
            const offset_t size = supernodes.size(J);
            s.nnz_structural += 2 * (size * supernodes.tail[J] + size * (size - 1) / 2);
        }
        if (dense_fronts) supernodes = merge_small_supernodes(std::move(supernodes));
        write_rows(supernodes, s.n, s.row_ptr, s.diag, s.cols);
        s.supernode_end.resize(n);
        for (index_t J = 0; J < supernodes.count(); ++J)
            std::fill(s.supernode_end.begin() + supernodes.start[J], s.supernode_end.begin() + supernodes.start[J + 1],
                      supernodes.start[J + 1]);
    }
    if (dense_fronts) plan_fronts(s);

    // Each L entry (i, k) costs a division and a multiply-add per U entry of row k; row k
    // of U has as many entries as column k of L.
    s.factor_flops = 0.0;
    for (index_t k = 0; k < s.n; ++k) {
        const double u = static_cast<double>(s.row_ptr[k + 1] - s.diag[k] - 1);
        s.factor_flops += u * (1.0 + 2.0 * u);
    }
    s.matrix_indptr.assign(a.indptr, a.indptr + n + 1);
    s.matrix_to_factor = factor_positions(a, s.perm, iperm, s.row_ptr, s.diag, s.cols, s.supernode_end);
}

void plan_fronts(SymbolicPlan& plan) {
    FrontalPlan& f = plan.frontal;
    f = FrontalPlan{};
    for (index_t k = 0; k < plan.n; k = plan.supernode_end[k]) f.start.push_back(k);
    f.start.push_back(plan.n);
    f.supernodes = static_cast<index_t>(f.start.size()) - 1;
    const auto m = static_cast<size_t>(f.supernodes);
    std::vector<index_t> of(static_cast<size_t>(plan.n));  // supernode of each row
    for (index_t J = 0; J < f.supernodes; ++J)
        for (index_t k = f.start[J]; k < f.start[J + 1]; ++k) of[k] = J;

    // T_J is the U part of row start[J] beyond the supernode; its first entry names the parent.
    f.tail.assign(m, 0);
    f.tail_ptr.assign(m + 1, 0);
    std::vector<index_t> parent(m, -1);
    for (index_t J = 0; J < f.supernodes; ++J) {
        const index_t j0 = f.start[J], s = f.start[J + 1] - j0;
        const offset_t first = plan.diag[j0] + s;
        f.tail[J] = static_cast<index_t>(plan.row_ptr[j0 + 1] - first);
        if (f.tail[J] > 0) parent[J] = of[plan.cols[first]];
        f.tail_ptr[J + 1] = f.tail_ptr[J] + f.tail[J];
        f.max_front = std::max(f.max_front, s + f.tail[J]);
    }
    f.child_ptr.assign(m + 1, 0);
    for (index_t J = 0; J < f.supernodes; ++J)
        if (parent[J] >= 0) ++f.child_ptr[parent[J] + 1];
    for (size_t J = 0; J < m; ++J) f.child_ptr[J + 1] += f.child_ptr[J];
    f.child.assign(static_cast<size_t>(f.child_ptr[m]), 0);
    std::vector<offset_t> next(f.child_ptr.begin(), f.child_ptr.end() - 1);
    for (index_t J = 0; J < f.supernodes; ++J)
        if (parent[J] >= 0) f.child[next[parent[J]]++] = J;

    // Where each tail index sits in the parent's index set, and where row T_J[a] keeps its
    // entries of columns J (contiguous, starting at column start[J]).
    f.relative.assign(static_cast<size_t>(f.tail_ptr[m]), 0);
    f.lpanel.assign(static_cast<size_t>(f.tail_ptr[m]), 0);
    std::vector<index_t> position(static_cast<size_t>(plan.n), -1);
    for (index_t P = 0; P < f.supernodes; ++P) {
        const index_t p0 = f.start[P], sp = f.start[P + 1] - p0;
        const offset_t first = plan.diag[p0] + sp;
        for (index_t q = 0; q < sp; ++q) position[p0 + q] = q;
        for (index_t a = 0; a < f.tail[P]; ++a) position[plan.cols[first + a]] = sp + a;
        for (offset_t c = f.child_ptr[P]; c < f.child_ptr[P + 1]; ++c) {
            const index_t J = f.child[c], j0 = f.start[J];
            const offset_t tfirst = plan.diag[j0] + (f.start[J + 1] - j0);
            for (index_t a = 0; a < f.tail[J]; ++a) f.relative[f.tail_ptr[J] + a] = position[plan.cols[tfirst + a]];
        }
    }
    // Row t's L part is a run of whole supernodes' columns, ascending: J's run starts
    // after those of the earlier supernodes whose tails hold t.
    std::vector<offset_t> lnext(plan.row_ptr.begin(), plan.row_ptr.end() - 1);
    for (index_t J = 0; J < f.supernodes; ++J) {
        const index_t j0 = f.start[J], s = f.start[J + 1] - j0;
        const offset_t tfirst = plan.diag[j0] + s;
        for (index_t a = 0; a < f.tail[J]; ++a) {
            const index_t t = plan.cols[tfirst + a];
            f.lpanel[f.tail_ptr[J] + a] = lnext[t];
            lnext[t] += s;
        }
    }

    // Schur complements live on a stack when children come right before their parent (a
    // postorder, as nested dissection numbers); otherwise each gets its own slot.
    f.update_at.assign(m, 0);
    std::vector<index_t> stack;
    offset_t top = 0;
    bool postorder = true;
    for (index_t J = 0; J < f.supernodes && postorder; ++J) {
        for (offset_t c = f.child_ptr[J + 1]; c-- > f.child_ptr[J];) {
            if (stack.empty() || stack.back() != f.child[c]) {
                postorder = false;
                break;
            }
            top = f.update_at[stack.back()];
            stack.pop_back();
        }
        f.update_at[J] = top;
        top += static_cast<offset_t>(f.tail[J]) * f.tail[J];
        f.arena = std::max(f.arena, top);
        if (f.tail[J] > 0) stack.push_back(J);
    }
    if (!postorder) {
        f.arena = 0;
        for (index_t J = 0; J < f.supernodes; ++J) {
            f.update_at[J] = f.arena;
            f.arena += static_cast<offset_t>(f.tail[J]) * f.tail[J];
        }
    }
}

}  // namespace

std::shared_ptr<const SymbolicPlan> analyse_pattern(const CsrView& a, Ordering ordering,
                                                    const std::optional<GridShape>& grid, Elimination elimination) {
    validate_csr(a);
    auto s = std::make_shared<SymbolicPlan>();
    s->ordering = ordering;
    const Graph graph = symmetric_graph(a);
    if (ordering == Ordering::Automatic) {  // record what "auto" chose
        const auto shape = grid ? grid : detect_grid(graph);
        s->ordering = shape ? Ordering::NestedDissection : Ordering::MinimumDegree;
        s->perm = compute_ordering(graph, s->ordering, shape);
    } else {
        s->perm = compute_ordering(graph, ordering, grid);
    }
    analyse(*s, a, graph, elimination);
    return s;
}

std::shared_ptr<const SymbolicPlan> analyse_pattern(const CsrView& a, std::vector<index_t> perm,
                                                    Elimination elimination) {
    validate_csr(a);
    validate_permutation(perm, a.n);
    auto s = std::make_shared<SymbolicPlan>();
    s->ordering = Ordering::Natural;
    s->perm = std::move(perm);
    analyse(*s, a, symmetric_graph(a), elimination);
    return s;
}

}  // namespace detail

// One matrix (SparseLU) is eliminated row by row: its analysis plans no dense fronts
// (merging supernodes would only add explicit zeros to eliminate).
SymbolicLU::SymbolicLU(const CsrView& a, Ordering ordering, const std::optional<GridShape>& grid)
    : plan_(detail::analyse_pattern(a, ordering, grid, detail::Elimination::RowByRow)) {}

SymbolicLU::SymbolicLU(const CsrView& a, std::vector<index_t> perm)
    : plan_(detail::analyse_pattern(a, std::move(perm), detail::Elimination::RowByRow)) {}

SymbolicLU::SymbolicLU(std::shared_ptr<const detail::SymbolicPlan> plan) : plan_(std::move(plan)) {
    if (!plan_) throw std::invalid_argument("SymbolicLU needs a plan, got null");
}

index_t SymbolicLU::n() const { return plan_->n; }
offset_t SymbolicLU::nnz_matrix() const { return plan_->nnz_matrix(); }
offset_t SymbolicLU::nnz_factors() const { return plan_->nnz_factors(); }
offset_t SymbolicLU::nnz_structural() const { return plan_->nnz_structural; }
double SymbolicLU::factor_flops() const { return plan_->factor_flops; }
Ordering SymbolicLU::ordering() const { return plan_->ordering; }
const std::vector<index_t>& SymbolicLU::permutation() const { return plan_->perm; }

}  // namespace fpscore
