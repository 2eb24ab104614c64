// The recorded block schedule of a row-by-row factorisation (private header).
#pragma once

#include <vector>

#include "fpscore/sparse/csr.hpp"

namespace fpscore::detail {

// The supernode blocks (a, b) each group of rows subtracts in one phase of a row-by-row
// kernel, recorded by the first factorisation and replayed by the next (finding them costs
// about a sixth of a one-matrix factorisation at 32², a sixteenth of a pack's).
struct BlockSchedule {
    std::vector<index_t> blocks;          // a, b pairs
    std::vector<unsigned char> members;   // packs: the rows of the group holding each block (bits)
    std::vector<offset_t> group;          // group k's pairs: [group[k], group[k + 1])
    std::vector<offset_t> after;          // each row's L position once its group's blocks are done
    bool complete = false;
};

}  // namespace fpscore::detail
