// Symbolic analysis: elimination tree and row patterns of L by "row subtrees"
// (Liu; as in CSparse's cs_etree / cs_ereach), U's pattern as L's transpose.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "fpscore/sparse_lu.hpp"

namespace fpscore {

SymbolicLU::SymbolicLU(const CsrView& a, Ordering ordering, const std::optional<GridShape>& grid)
    : ordering_(ordering) {
    validate_csr(a);
    const Graph graph = symmetric_graph(a);
    if (ordering == Ordering::Automatic) {  // record what "auto" chose
        const auto shape = grid ? grid : detect_grid(graph);
        ordering_ = shape ? Ordering::NestedDissection : Ordering::MinimumDegree;
        perm_ = compute_ordering(graph, ordering_, shape);
    } else {
        perm_ = compute_ordering(graph, ordering, grid);
    }
    analyse(a, graph);
}

SymbolicLU::SymbolicLU(const CsrView& a, std::vector<index_t> perm)
    : ordering_(Ordering::Natural), perm_(std::move(perm)) {
    validate_csr(a);
    validate_permutation(perm_, a.n);
    analyse(a, symmetric_graph(a));
}

void SymbolicLU::analyse(const CsrView& a, const Graph& graph) {
    n_ = a.n;
    const auto n = static_cast<size_t>(n_);
    std::vector<index_t> iperm(n);
    for (index_t k = 0; k < n_; ++k) iperm[perm_[k]] = k;
    // Row i of P (A + Aᵀ) Pᵀ below the diagonal: the neighbours k < i of perm[i].
    auto for_lower = [&](index_t i, auto&& visit) {
        const index_t v = perm_[i];
        for (offset_t p = graph.ptr[v]; p < graph.ptr[v + 1]; ++p) {
            const index_t k = iperm[graph.adj[p]];
            if (k < i) visit(k);
        }
    };

    // Elimination tree with path-compressed ancestors.
    std::vector<index_t> parent(n, -1), ancestor(n, -1);
    for (index_t i = 0; i < n_; ++i) {
        for_lower(i, [&](index_t k) {
            while (k != -1 && k < i) {
                const index_t next = ancestor[k];
                ancestor[k] = i;
                if (next == -1) parent[k] = i;
                k = next;
            }
        });
    }

    // Row i of L: every node on the tree paths from row i's entries up to i.
    std::vector<index_t> mark(n, -1);
    auto row_subtree = [&](index_t i, auto&& visit) {
        mark[i] = i;
        for_lower(i, [&](index_t k) {
            for (; mark[k] != i; k = parent[k]) {
                mark[k] = i;
                visit(k);
            }
        });
    };
    std::vector<index_t> lcount(n, 0), ucount(n, 0);
    for (index_t i = 0; i < n_; ++i)
        row_subtree(i, [&](index_t k) {
            ++lcount[i];
            ++ucount[k];
        });

    // Combined rows: [L part] [diagonal] [U part], each ascending.
    row_ptr_.assign(n + 1, 0);
    diag_.assign(n, 0);
    for (index_t i = 0; i < n_; ++i) {
        diag_[i] = row_ptr_[i] + lcount[i];
        row_ptr_[i + 1] = diag_[i] + 1 + ucount[i];
    }
    cols_.assign(static_cast<size_t>(row_ptr_[n]), 0);
    std::vector<offset_t> unext(n);
    for (index_t i = 0; i < n_; ++i) {
        cols_[diag_[i]] = i;
        unext[i] = diag_[i] + 1;
    }
    // Appending i to the U row of each k, for i ascending, leaves the U rows sorted.
    std::fill(mark.begin(), mark.end(), -1);
    for (index_t i = 0; i < n_; ++i) row_subtree(i, [&](index_t k) { cols_[unext[k]++] = i; });
    // L parts: transpose of the U parts; visiting k ascending keeps them sorted.
    std::vector<offset_t> lnext(row_ptr_.begin(), row_ptr_.end() - 1);
    for (index_t k = 0; k < n_; ++k)
        for (offset_t q = diag_[k] + 1; q < row_ptr_[k + 1]; ++q) cols_[lnext[cols_[q]]++] = k;

    // Fundamental supernodes: k joins k+1's when U(k) = {k+1} ∪ U(k+1).
    supernode_end_.assign(n, n_);
    for (index_t k = n_ - 2; k >= 0; --k) {
        const offset_t len = row_ptr_[k + 1] - diag_[k] - 1, next = row_ptr_[k + 2] - diag_[k + 1] - 1;
        const bool joins = len == next + 1 && len > 0 && cols_[diag_[k] + 1] == k + 1;
        supernode_end_[k] = joins ? supernode_end_[k + 1] : k + 1;
    }
    nnz_structural_ = static_cast<offset_t>(cols_.size());
    // Large problems get merged supernodes and dense fronts; on small ones the fronts are
    // tiny and the row-by-row kernel is faster (measured on 32² to 256² grids).
    constexpr index_t kDenseFrontsFrom = 128 * 128;
    if (n_ >= kDenseFrontsFrom) {
        relax_supernodes();
        plan_fronts();
    }

    // Each L entry (i, k) costs a division and a multiply-add per U entry of row k; row k
    // of U has as many entries as column k of L.
    factor_flops_ = 0.0;
    for (index_t k = 0; k < n_; ++k) {
        const double u = static_cast<double>(row_ptr_[k + 1] - diag_[k] - 1);
        factor_flops_ += u * (1.0 + 2.0 * u);
    }

    // Where each entry of A lands in the factor values.
    matrix_indptr_.assign(a.indptr, a.indptr + n + 1);
    matrix_to_factor_.assign(static_cast<size_t>(a.nnz()), 0);
    for (index_t r = 0; r < n_; ++r) {
        const index_t i = iperm[r];
        const auto first = cols_.begin() + row_ptr_[i], last = cols_.begin() + row_ptr_[i + 1];
        for (offset_t p = a.indptr[r]; p < a.indptr[r + 1]; ++p) {
            const auto it = std::lower_bound(first, last, iperm[a.indices[p]]);
            matrix_to_factor_[static_cast<size_t>(p)] = it - cols_.begin();
        }
    }
}

// Merges small supernodes into their parent when the parent comes right after them, at
// the price of explicit zeros in the merged rows: fewer, larger dense fronts. The pattern
// is rebuilt from the merged supernodes (rows of M = [m0, m1): U part (i, m1) ∪ T_M).
void SymbolicLU::relax_supernodes() {
    struct Group {
        index_t start, end;  // rows
        index_t tail;        // |T|
        offset_t tail_at;    // position of T in cols_ (the U tail of the group's first supernode row)
        double zeros;        // explicit zeros the merges added to the group's U part
    };
    // Allowed fraction of explicit zeros in the merged U part, by merged size (tuned on grids).
    auto acceptable = [](double size, double zero_fraction) {
        return (size <= 8 && zero_fraction < 0.5) || (size <= 16 && zero_fraction < 0.2) ||
               (size <= 32 && zero_fraction < 0.05) || zero_fraction < 0.01;
    };
    std::vector<Group> groups;
    bool merged_any = false;
    for (index_t j0 = 0; j0 < n_; j0 = supernode_end_[j0]) {
        const index_t j1 = supernode_end_[j0];
        const offset_t tail_at = diag_[j0] + (j1 - j0);
        Group g{j0, j1, static_cast<index_t>(row_ptr_[j0 + 1] - tail_at), tail_at, 0.0};
        while (!groups.empty()) {
            const Group& c = groups.back();
            // c must end right before g and have its parent (first tail entry) in g.
            if (c.end != g.start || c.tail == 0 || cols_[c.tail_at] >= g.end) break;
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
    if (!merged_any) return;

    // Rebuild the pattern from the groups.
    const auto n = static_cast<size_t>(n_);
    std::vector<index_t> lcount(n, 0), ucount(n, 0);
    for (const Group& g : groups)
        for (index_t i = g.start; i < g.end; ++i) ucount[i] = (g.end - 1 - i) + g.tail;
    for (const Group& g : groups)
        for (index_t i = g.start; i < g.end; ++i) {
            for (index_t k = i + 1; k < g.end; ++k) ++lcount[k];
            for (index_t a = 0; a < g.tail; ++a) ++lcount[cols_[g.tail_at + a]];
        }
    std::vector<offset_t> row_ptr(n + 1, 0), diag(n, 0);
    for (index_t i = 0; i < n_; ++i) {
        diag[i] = row_ptr[i] + lcount[i];
        row_ptr[i + 1] = diag[i] + 1 + ucount[i];
    }
    std::vector<index_t> cols(static_cast<size_t>(row_ptr[n]), 0);
    for (const Group& g : groups)
        for (index_t i = g.start; i < g.end; ++i) {
            offset_t q = diag[i];
            cols[q++] = i;
            for (index_t k = i + 1; k < g.end; ++k) cols[q++] = k;
            for (index_t a = 0; a < g.tail; ++a) cols[q++] = cols_[g.tail_at + a];
        }
    std::vector<offset_t> lnext(row_ptr.begin(), row_ptr.end() - 1);
    for (index_t k = 0; k < n_; ++k)
        for (offset_t q = diag[k] + 1; q < row_ptr[k + 1]; ++q) cols[lnext[cols[q]]++] = k;
    row_ptr_.swap(row_ptr);
    diag_.swap(diag);
    cols_.swap(cols);
    for (const Group& g : groups)
        for (index_t i = g.start; i < g.end; ++i) supernode_end_[i] = g.end;
}

void SymbolicLU::plan_fronts() {
    FrontalPlan& f = frontal_;
    f = FrontalPlan{};
    for (index_t k = 0; k < n_; k = supernode_end_[k]) f.start.push_back(k);
    f.start.push_back(n_);
    f.supernodes = static_cast<index_t>(f.start.size()) - 1;
    const auto m = static_cast<size_t>(f.supernodes);
    std::vector<index_t> of(static_cast<size_t>(n_));  // supernode of each row
    for (index_t J = 0; J < f.supernodes; ++J)
        for (index_t k = f.start[J]; k < f.start[J + 1]; ++k) of[k] = J;

    // T_J is the U part of row start[J] beyond the supernode; its first entry names the parent.
    f.tail.assign(m, 0);
    f.tail_ptr.assign(m + 1, 0);
    std::vector<index_t> parent(m, -1);
    for (index_t J = 0; J < f.supernodes; ++J) {
        const index_t j0 = f.start[J], s = f.start[J + 1] - j0;
        const offset_t first = diag_[j0] + s;
        f.tail[J] = static_cast<index_t>(row_ptr_[j0 + 1] - first);
        if (f.tail[J] > 0) parent[J] = of[cols_[first]];
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
    std::vector<index_t> position(static_cast<size_t>(n_), -1);
    for (index_t P = 0; P < f.supernodes; ++P) {
        const index_t p0 = f.start[P], sp = f.start[P + 1] - p0;
        const offset_t first = diag_[p0] + sp;
        for (index_t q = 0; q < sp; ++q) position[p0 + q] = q;
        for (index_t a = 0; a < f.tail[P]; ++a) position[cols_[first + a]] = sp + a;
        for (offset_t c = f.child_ptr[P]; c < f.child_ptr[P + 1]; ++c) {
            const index_t J = f.child[c], j0 = f.start[J];
            const offset_t tfirst = diag_[j0] + (f.start[J + 1] - j0);
            for (index_t a = 0; a < f.tail[J]; ++a) f.relative[f.tail_ptr[J] + a] = position[cols_[tfirst + a]];
        }
    }
    for (index_t J = 0; J < f.supernodes; ++J) {
        const index_t j0 = f.start[J];
        const offset_t tfirst = diag_[j0] + (f.start[J + 1] - j0);
        for (index_t a = 0; a < f.tail[J]; ++a) {
            const index_t t = cols_[tfirst + a];
            const auto it = std::lower_bound(cols_.begin() + row_ptr_[t], cols_.begin() + diag_[t], j0);
            f.lpanel[f.tail_ptr[J] + a] = it - cols_.begin();
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

}  // namespace fpscore
