// Replaying or recording the block schedule of a row-by-row factorisation (private header).
#pragma once

#include <algorithm>

#include "sparse/numeric/block_schedule.hpp"
#include "sparse/symbolic/symbolic_plan.hpp"
#include "common/simd_dispatch.hpp"

namespace fpscore::detail {

// Replays a complete BlockSchedule group by group, or records one while walking.
class BlockCursor {
public:
    explicit BlockCursor(BlockSchedule* schedule) : s_(schedule) {
        if (s_ != nullptr && !s_->complete) {
            s_->blocks.clear();
            s_->members.clear();
            s_->after.clear();
            s_->group.assign(1, 0);
        }
    }
    bool replaying() const { return s_ != nullptr && s_->complete; }
    bool recording() const { return s_ != nullptr && !s_->complete; }
    BlockSchedule& schedule() const { return *s_; }
    offset_t group() const { return group_; }
    void next_group() { ++group_; }
    // Recording: the group's blocks are in; its rows (g of `stride` slots) stand at p.
    void end_group(const offset_t* p, index_t g, index_t stride) {
        s_->group.push_back(static_cast<offset_t>(s_->blocks.size() / 2));
        for (index_t t = 0; t < stride; ++t) s_->after.push_back(t < g ? p[t] : 0);
        next_group();
    }
    // Called once the phase has run to its end: the recording is complete.
    void finish() {
        if (recording()) s_->complete = true;
    }

private:
    BlockSchedule* s_;
    offset_t group_ = 0;
};

// Calls visit(a, b, holders) for each supernode block [a, b) that the group's L parts at
// positions [p[t], e[t]) hold below `limit`, in order (holders: bit t for each row t of the
// g that holds it), and advances p past them. With a cursor the blocks are replayed from, or
// recorded into, its schedule (rows in slots of `stride`).
template <class Visit>
FPSCORE_INLINE void for_each_block(const SymbolicPlan& sym, index_t limit, index_t g, index_t stride, offset_t* p,
                                   const offset_t* e, BlockCursor* cursor, Visit visit) {
    if (cursor != nullptr && cursor->replaying()) {
        const BlockSchedule& s = cursor->schedule();
        const offset_t k = cursor->group();
        for (offset_t q = s.group[k]; q < s.group[k + 1]; ++q) visit(s.blocks[2 * q], s.blocks[2 * q + 1], s.members[q]);
        for (index_t t = 0; t < g; ++t) p[t] = s.after[k * stride + t];
        cursor->next_group();
        return;
    }
    const index_t* cols = sym.cols.data();
    const index_t* supernode_end = sym.supernode_end.data();
    const index_t n = sym.n;
    for (;;) {
        index_t a = n;
        for (index_t t = 0; t < g; ++t)
            if (p[t] < e[t] && cols[p[t]] < limit) a = std::min(a, cols[p[t]]);
        if (a == n) break;
        const index_t b = std::min(supernode_end[a], limit);
        unsigned holders = 0;
        for (index_t t = 0; t < g; ++t)
            if (p[t] < e[t] && cols[p[t]] == a) {
                holders |= 1u << t;
                p[t] += b - a;
            }
        visit(a, b, holders);
        if (cursor != nullptr) {
            cursor->schedule().blocks.push_back(a);
            cursor->schedule().blocks.push_back(b);
            cursor->schedule().members.push_back(static_cast<unsigned char>(holders));
        }
    }
    if (cursor != nullptr) cursor->end_group(p, g, stride);
}

}  // namespace fpscore::detail
