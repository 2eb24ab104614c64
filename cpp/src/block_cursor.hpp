// Replaying or recording the block schedule of a row-by-row factorisation (private header).
#pragma once

#include "fpscore/sparse_lu.hpp"

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

}  // namespace fpscore::detail
