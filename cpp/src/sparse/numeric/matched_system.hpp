// The matched and scaled system B = Dr·P·A·Dc of a general matrix A (private header):
// row j of B is row row_of_column[j] of A, so that the matching sits on B's diagonal, and
// every entry is scaled by its row's and column's factor. Rows move, columns do not.
#pragma once

#include <cstddef>
#include <vector>

#include "fpscore/sparse/csr.hpp"
#include "sparse/ordering/matching.hpp"

namespace fpscore::detail {

class MatchedSystem {
public:
    // a: A's pattern (sorted columns, no duplicates); matching from A's values.
    MatchedSystem(const CsrView& a, MatchingScaling matching);

    // B's pattern; its arrays live as long as this object.
    CsrView pattern() const { return {n_, indptr_.data(), indices_.data()}; }
    // b_values[p] = Dr·A·Dc at B's entry p, from A's values in A's CSR order.
    void gather(const double* a_values, double* b_values) const;
    // rhs (n, nrhs) row-major: y = Dr·P·b, the right-hand side of B y = Dr P b.
    void to_matched(const double* b, double* y, index_t nrhs) const;
    // x = Dc·y in place: A x = b when B y = Dr P b.
    void to_original(double* y, index_t nrhs) const;

    const std::vector<index_t>& row_of_column() const { return matching_.row_of_column; }

private:
    index_t n_;
    MatchingScaling matching_;
    std::vector<offset_t> indptr_;
    std::vector<index_t> indices_;
    std::vector<offset_t> from_a_;  // B's entry p is A's entry from_a_[p]
    std::vector<double> scale_;     // and is multiplied by scale_[p] = Dr_row · Dc_col
};

}  // namespace fpscore::detail
