// Where each entry of A lands in the dense fronts of the multifrontal schedule (private
// header). With it a factorisation starts each front from A's values directly, instead of
// zeroing the whole factor and scattering A into it.
#pragma once

#include <vector>

#include "sparse/symbolic/symbolic_plan.hpp"

namespace fpscore::detail {

struct FrontAssembly {
    std::vector<offset_t> ptr;     // front J's entries: [ptr[J], ptr[J+1])
    std::vector<offset_t> entry;  // position of the entry in A's CSR values
    std::vector<index_t> row;     // its row and column inside front J (positions in I_J)
    std::vector<index_t> col;
};

// Empty unless sym.multifrontal().
FrontAssembly plan_front_assembly(const SymbolicPlan& sym);

}  // namespace fpscore::detail
