#include "front_assembly.hpp"

#include <algorithm>

namespace fpscore::detail {

FrontAssembly plan_front_assembly(const SymbolicLU& sym) {
    FrontAssembly fa;
    if (!sym.multifrontal()) return fa;
    const FrontalPlan& plan = sym.frontal();
    const index_t n = sym.n();
    const auto& perm = sym.permutation();
    const auto& a_ptr = sym.matrix_indptr();
    const auto& a_to_factor = sym.matrix_to_factor();
    const auto& cols = sym.cols();
    const auto& diag = sym.diag();
    std::vector<index_t> of(static_cast<size_t>(n));  // supernode of each row
    for (index_t J = 0; J < plan.supernodes; ++J)
        for (index_t k = plan.start[J]; k < plan.start[J + 1]; ++k) of[k] = J;
    // Position of a column in front J's index set I_J = J ∪ T_J (T_J sorted).
    auto position = [&](index_t J, index_t c) -> index_t {
        const index_t j0 = plan.start[J], s = plan.start[J + 1] - j0;
        if (c < j0 + s) return c - j0;
        const auto first = cols.begin() + diag[j0] + s, last = first + plan.tail[J];
        return s + static_cast<index_t>(std::lower_bound(first, last, c) - first);
    };
    std::vector<index_t> front_of(a_to_factor.size()), row_of(a_to_factor.size()), col_of(a_to_factor.size());
    fa.ptr.assign(static_cast<size_t>(plan.supernodes) + 1, 0);
    for (index_t i = 0; i < n; ++i) {
        const index_t r = perm[i];
        for (offset_t p = a_ptr[r]; p < a_ptr[r + 1]; ++p) {
            const index_t c = cols[a_to_factor[p]];
            // Entry (i, c) belongs to the front of the supernode that eliminates min(i, c).
            const index_t J = of[std::min(i, c)];
            front_of[p] = J;
            row_of[p] = position(J, i);
            col_of[p] = position(J, c);
            ++fa.ptr[J + 1];
        }
    }
    for (index_t J = 0; J < plan.supernodes; ++J) fa.ptr[J + 1] += fa.ptr[J];
    fa.entry.assign(a_to_factor.size(), 0);
    fa.row.assign(a_to_factor.size(), 0);
    fa.col.assign(a_to_factor.size(), 0);
    std::vector<offset_t> next(fa.ptr.begin(), fa.ptr.end() - 1);
    for (size_t p = 0; p < a_to_factor.size(); ++p) {
        const offset_t q = next[front_of[p]]++;
        fa.entry[q] = static_cast<offset_t>(p);
        fa.row[q] = row_of[p];
        fa.col[q] = col_of[p];
    }
    return fa;
}

}  // namespace fpscore::detail
