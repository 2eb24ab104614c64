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
    analyse(a);
}

SymbolicLU::SymbolicLU(const CsrView& a, std::vector<index_t> perm)
    : ordering_(Ordering::Natural), perm_(std::move(perm)) {
    validate_csr(a);
    validate_permutation(perm_, a.n);
    analyse(a);
}

void SymbolicLU::analyse(const CsrView& a) {
    n_ = a.n;
    const auto n = static_cast<size_t>(n_);
    std::vector<index_t> iperm(n);
    for (index_t k = 0; k < n_; ++k) iperm[perm_[k]] = k;

    // Lower triangle (k < i) of P (A + Aᵀ) Pᵀ, by rows.
    std::vector<std::vector<index_t>> lower(n);
    for (index_t r = 0; r < n_; ++r) {
        for (offset_t p = a.indptr[r]; p < a.indptr[r + 1]; ++p) {
            const index_t i = iperm[r], j = iperm[a.indices[p]];
            if (j < i) lower[i].push_back(j);
            if (i < j) lower[j].push_back(i);
        }
    }

    // Elimination tree with path-compressed ancestors.
    std::vector<index_t> parent(n, -1), ancestor(n, -1);
    for (index_t i = 0; i < n_; ++i) {
        for (index_t k : lower[i]) {
            while (k != -1 && k < i) {
                const index_t next = ancestor[k];
                ancestor[k] = i;
                if (next == -1) parent[k] = i;
                k = next;
            }
        }
    }

    // Row i of L: every node on the tree paths from lower[i]'s entries up to i.
    std::vector<offset_t> lptr(n + 1, 0);
    std::vector<index_t> lidx;
    std::vector<index_t> mark(n, -1), ucount(n, 0);
    for (index_t i = 0; i < n_; ++i) {
        mark[i] = i;
        const auto start = lidx.size();
        for (index_t k : lower[i]) {
            for (; mark[k] != i; k = parent[k]) {
                mark[k] = i;
                lidx.push_back(k);
                ++ucount[k];
            }
        }
        std::sort(lidx.begin() + static_cast<std::ptrdiff_t>(start), lidx.end());
        lptr[i + 1] = static_cast<offset_t>(lidx.size());
        std::vector<index_t>().swap(lower[i]);
    }

    // Combined rows: [L part] [diagonal] [U part], each ascending.
    row_ptr_.assign(n + 1, 0);
    diag_.assign(n, 0);
    for (index_t i = 0; i < n_; ++i)
        row_ptr_[i + 1] = row_ptr_[i] + (lptr[i + 1] - lptr[i]) + 1 + ucount[i];
    cols_.assign(static_cast<size_t>(row_ptr_[n]), 0);
    std::vector<offset_t> unext(n);
    for (index_t i = 0; i < n_; ++i) {
        offset_t q = row_ptr_[i];
        for (offset_t p = lptr[i]; p < lptr[i + 1]; ++p) cols_[q++] = lidx[p];
        diag_[i] = q;
        cols_[q] = i;
        unext[i] = q + 1;
    }
    for (index_t i = 0; i < n_; ++i)
        for (offset_t p = lptr[i]; p < lptr[i + 1]; ++p) cols_[unext[lidx[p]]++] = i;

    // Fundamental supernodes: k joins k+1's when U(k) = {k+1} ∪ U(k+1).
    supernode_end_.assign(n, n_);
    for (index_t k = n_ - 2; k >= 0; --k) {
        const offset_t len = row_ptr_[k + 1] - diag_[k] - 1, next = row_ptr_[k + 2] - diag_[k + 1] - 1;
        const bool joins = len == next + 1 && len > 0 && cols_[diag_[k] + 1] == k + 1;
        supernode_end_[k] = joins ? supernode_end_[k + 1] : k + 1;
    }

    // Row i costs, per L entry (i, k): one division and a multiply-add per U entry of row k.
    factor_flops_ = 0.0;
    for (index_t i = 0; i < n_; ++i)
        for (offset_t p = lptr[i]; p < lptr[i + 1]; ++p)
            factor_flops_ += 1.0 + 2.0 * static_cast<double>(row_ptr_[lidx[p] + 1] - diag_[lidx[p]] - 1);

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
