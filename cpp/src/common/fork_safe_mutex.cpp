#include "common/fork_safe_mutex.hpp"

#include <algorithm>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define FPSCORE_HAS_ATFORK 1
#endif

namespace fpscore::detail {

// The registered mutexes and the fork handlers that take and release them (the list's own
// mutex first, so that no mutex is added or removed while a fork is under way).
struct ForkHandlers {
    std::mutex list_mutex;
    std::vector<ForkSafeMutex*> list;

    static ForkHandlers& get() {
        static ForkHandlers* handlers = [] {
            auto* made = new ForkHandlers();  // kept for the life of the process
#ifdef FPSCORE_HAS_ATFORK
            pthread_atfork(&ForkHandlers::prepare, &ForkHandlers::release, &ForkHandlers::release);
#endif
            return made;
        }();
        return *handlers;
    }
    static void prepare() {
        ForkHandlers& h = get();
        h.list_mutex.lock();
        for (ForkSafeMutex* m : h.list) m->mutex_.lock();
    }
    static void release() {  // in the parent and in the child, on the thread that forked
        ForkHandlers& h = get();
        for (auto it = h.list.rbegin(); it != h.list.rend(); ++it) (*it)->mutex_.unlock();
        h.list_mutex.unlock();
    }
};

ForkSafeMutex::ForkSafeMutex() {
    ForkHandlers& h = ForkHandlers::get();
    std::lock_guard<std::mutex> lock(h.list_mutex);
    h.list.push_back(this);
}

ForkSafeMutex::~ForkSafeMutex() {
    ForkHandlers& h = ForkHandlers::get();
    std::lock_guard<std::mutex> lock(h.list_mutex);
    h.list.erase(std::remove(h.list.begin(), h.list.end(), this), h.list.end());
}

}  // namespace fpscore::detail
