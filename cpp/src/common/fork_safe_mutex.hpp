// A mutex that a fork never leaves locked in the child (private header).
//
// fork() copies a process with only the calling thread: a std::mutex that another thread
// held at that moment stays locked in the child, whose next lock() waits forever (Python's
// multiprocessing forks, and its users keep threads). A ForkSafeMutex is taken by a
// pthread_atfork handler just before fork and released on both sides just after, so the child
// inherits it unlocked and with consistent data behind it.
//
// For long-lived objects (function statics): construction and destruction register with the
// process's list. Hold one only briefly (fork waits for it), and do not construct a
// ForkSafeMutex while holding one.
#pragma once

#include <mutex>

namespace fpscore::detail {

class ForkSafeMutex {
public:
    ForkSafeMutex();
    ~ForkSafeMutex();
    ForkSafeMutex(const ForkSafeMutex&) = delete;
    ForkSafeMutex& operator=(const ForkSafeMutex&) = delete;

    void lock() { mutex_.lock(); }
    bool try_lock() { return mutex_.try_lock(); }
    void unlock() { mutex_.unlock(); }

private:
    friend struct ForkHandlers;
    std::mutex mutex_;
};

}  // namespace fpscore::detail
