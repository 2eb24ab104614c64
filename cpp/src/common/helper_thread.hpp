// A helper thread shared by the process, for work split in two (private header).
// Starting a thread costs tens of microseconds, as much as a whole factorisation of a
// small matrix; the kept helper spins briefly between tasks, so it takes the next one in
// well under a microsecond, and sleeps once it has been idle for kSpin.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace fpscore::detail {

class HelperThread {
public:
    HelperThread();
    ~HelperThread();
    HelperThread(const HelperThread&) = delete;
    HelperThread& operator=(const HelperThread&) = delete;

    // Offers *task to the helper (which must be idle); it must stay alive until take_back()
    // succeeds or wait() returns, and must not throw (run_pair wraps its task).
    void post(const std::function<void()>* task);
    // Takes a posted task back if the helper has not started it (then the caller runs it):
    // on a busy machine the helper may not get a core for milliseconds.
    bool take_back();
    // Returns once the helper has finished the task it took (spinning, then yielding).
    void wait();

    static constexpr std::chrono::microseconds kSpin{1000};

private:
    enum State : int { kIdle, kPosted, kRunning, kExit };
    void loop();

    const std::function<void()>* task_ = nullptr;
    std::atomic<int> state_{kIdle};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread thread_;
};

// Runs `mine` on the calling thread and `other` on the process's helper thread at once;
// runs both here, one after the other, when another caller holds the helper or the helper
// has not started `other` by the time `mine` is done. Both always run to their end (or
// their exception); then the exception of `mine`, else that of `other`, is rethrown here.
// The helper stays usable.
void run_pair(const std::function<void()>& mine, const std::function<void()>& other);

}  // namespace fpscore::detail
