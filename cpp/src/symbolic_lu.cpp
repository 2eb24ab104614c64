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

    // Each L entry (i, k) costs a division and a multiply-add per U entry of row k; row k
    // of U has ucount[k] entries and column k of L as many.
    factor_flops_ = 0.0;
    for (index_t k = 0; k < n_; ++k) factor_flops_ += ucount[k] * (1.0 + 2.0 * ucount[k]);

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

}  // namespace fpscore
