// The 5-point stencil of the FP scheme on a grid with a boundary condition
// (private header): the matrix pattern, where each neighbour's coefficient goes,
// and how the ghost ring one node outside the grid is filled.
#pragma once

#include <optional>
#include <vector>

#include "fpscore/fp/solver.hpp"
#include "fpscore/sparse/ordering.hpp"

namespace fpscore::detail {

// Neighbour slots per node, in this order. x = column j (east = j+1), y = row i (south = i+1).
enum Neighbour { kCentre = 0, kEast = 1, kWest = 2, kSouth = 3, kNorth = 4, kNeighbours = 5 };

class Stencil {
public:
    // Only the grid's shape is used: one stencil serves every spacing h.
    Stencil(const Grid& grid, Boundary boundary);

    Boundary boundary() const { return boundary_; }
    CsrView pattern() const { return {static_cast<index_t>(grid_.size()), indptr_.data(), indices_.data()}; }
    const std::vector<offset_t>& indptr() const { return indptr_; }
    const std::vector<index_t>& indices() const { return indices_; }
    // slots()[5 * node + neighbour]: position in the CSR values of that coefficient, or -1
    // when the neighbour is a ghost with a known value (zero / Dirichlet): it goes to the rhs.
    const std::vector<offset_t>& slots() const { return slots_; }
    std::optional<GridShape> grid_shape() const;
    // The ghost ring, corners excluded (the 5-point stencil never reads them): padded positions,
    // and the interior node each copies (Neumann: the mirror node; periodic: the wrapped node;
    // -1: a known value, zero or Dirichlet).
    const std::vector<index_t>& ring() const { return ring_; }
    const std::vector<index_t>& ring_source() const { return ring_source_; }

    // The field m (H, W) with its ghost ring, padded (H+2, W+2); `ghosts` (H+2, W+2)
    // supplies the ring for Dirichlet and is ignored otherwise.
    void pad(const double* m, const double* ghosts, double* padded) const;

    // The same for `lanes` interleaved fields: m (H*W, lanes) -> padded ((H+2)*(W+2), lanes);
    // ghosts[l] is lane l's Dirichlet ring (H+2, W+2), or ghosts is null.
    void pad_lanes(const double* m, const double* const* ghosts, index_t lanes, double* padded) const;

private:
    Grid grid_;
    Boundary boundary_;
    std::vector<offset_t> indptr_;
    std::vector<index_t> indices_;
    std::vector<offset_t> slots_;
    std::vector<index_t> ring_;  // see ring() and ring_source()
    std::vector<index_t> ring_source_;
};

// Central differences of a padded field: grad (2, H, W).
void central_gradient_padded(const Grid& grid, const double* padded, double* grad);

}  // namespace fpscore::detail
