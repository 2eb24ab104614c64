// Where each entry of A lands in the dense fronts of the multifrontal schedule (private
// header). With it a factorisation starts each front from A's values directly, instead of
// zeroing the whole factor, scattering A into it and gathering the fronts back out.
#pragma once

#include <vector>

#include "fpscore/sparse_lu.hpp"

namespace fpscore::detail {

struct FrontAssembly {
    std::vector<offset_t> ptr;     // front J's entries: [ptr[J], ptr[J+1])
    std::vector<offset_t> entry;   // position of the entry in A's CSR values
    std::vector<offset_t> offset;  // element offset row * |I_J| + column inside front J
};

// Empty unless sym.multifrontal().
FrontAssembly plan_front_assembly(const SymbolicLU& sym);

}  // namespace fpscore::detail
