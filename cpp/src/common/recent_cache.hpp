// The most recently used values by key, at most `Kept` of them (private header): the analyses a
// process reuses for every call on the same grid. Safe across threads and forks (ForkSafeMutex;
// keep the object a function static). A missing value is made outside the lock, so two threads
// asking for it at once may both make it; the later one is kept.
#pragma once

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#include "common/fork_safe_mutex.hpp"

namespace fpscore::detail {

template <class Key, class Value, std::size_t Kept>
class RecentCache {
public:
    // The value kept for key, or make()'s, then kept (the least recently used goes first).
    template <class Make>
    Value get(const Key& key, Make&& make) {
        {
            std::lock_guard<ForkSafeMutex> lock(mutex_);
            for (auto it = entries_.begin(); it != entries_.end(); ++it)
                if (it->first == key) {
                    Value found = it->second;
                    entries_.erase(it);
                    entries_.emplace_back(key, found);
                    return found;
                }
        }
        Value made = std::forward<Make>(make)();
        std::lock_guard<ForkSafeMutex> lock(mutex_);
        if (entries_.size() >= Kept) entries_.erase(entries_.begin());
        entries_.emplace_back(key, made);
        return made;
    }

private:
    ForkSafeMutex mutex_;
    std::vector<std::pair<Key, Value>> entries_;
};

}  // namespace fpscore::detail
