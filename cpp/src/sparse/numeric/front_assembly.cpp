#include "sparse/numeric/front_assembly.hpp"

#include <algorithm>

namespace fpscore::detail {

FrontAssembly plan_front_assembly(const SymbolicPlan& sym) {
    FrontAssembly fa;
    if (!sym.multifrontal()) return fa;
    const FrontalPlan& plan = sym.frontal;
    const index_t n = sym.n;
    const auto& perm = sym.perm;
    const auto& a_ptr = sym.matrix_indptr;
    const auto& a_to_factor = sym.matrix_to_factor;
    const auto& cols = sym.cols;
    const auto& diag = sym.diag;
    const auto count = a_to_factor.size();
    std::vector<index_t> of(static_cast<size_t>(n));  // supernode of each row
    for (index_t J = 0; J < plan.supernodes; ++J)
        for (index_t k = plan.start[J]; k < plan.start[J + 1]; ++k) of[k] = J;

    // Entry (i, c) belongs to the front of the supernode that eliminates min(i, c): bucket
    // the entries by front (a counting sort), remembering their factor row.
    std::vector<index_t> row_of(count);
    fa.ptr.assign(static_cast<size_t>(plan.supernodes) + 1, 0);
    for (index_t i = 0; i < n; ++i)
        for (offset_t p = a_ptr[perm[i]]; p < a_ptr[perm[i] + 1]; ++p) {
            row_of[p] = i;
            ++fa.ptr[of[std::min(i, cols[a_to_factor[p]])] + 1];
        }
    for (index_t J = 0; J < plan.supernodes; ++J) fa.ptr[J + 1] += fa.ptr[J];
    fa.entry.assign(count, 0);
    std::vector<offset_t> next(fa.ptr.begin(), fa.ptr.end() - 1);
    for (size_t p = 0; p < count; ++p)
        fa.entry[next[of[std::min(row_of[p], cols[a_to_factor[p]])]]++] = static_cast<offset_t>(p);

    // Front J's rows are J then T_J; row i of J holds I_J from position i - j0 on, as its
    // factor row does from its diagonal on; a row of T_J holds the columns of J.
    fa.row.assign(count, 0);
    fa.col.assign(count, 0);
    std::vector<index_t> in_tail(static_cast<size_t>(n), -1);  // a where T_J[a] = i, for the current J
    for (index_t J = 0; J < plan.supernodes; ++J) {
        const index_t j0 = plan.start[J], s = plan.start[J + 1] - j0, t = plan.tail[J];
        const index_t* tail = cols.data() + diag[j0] + s;
        for (index_t a = 0; a < t; ++a) in_tail[tail[a]] = a;
        for (offset_t e = fa.ptr[J]; e < fa.ptr[J + 1]; ++e) {
            const offset_t p = fa.entry[e];
            const index_t i = row_of[p];
            if (of[i] == J) {
                fa.row[e] = i - j0;
                fa.col[e] = static_cast<index_t>(a_to_factor[p] - diag[i]) + (i - j0);
            } else {
                fa.row[e] = s + in_tail[i];
                fa.col[e] = cols[a_to_factor[p]] - j0;
            }
        }
    }
    return fa;
}

}  // namespace fpscore::detail
