#include "common/helper_thread.hpp"

#include <exception>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FPSCORE_CPU_RELAX() _mm_pause()
#else
#define FPSCORE_CPU_RELAX() std::this_thread::yield()
#endif

namespace fpscore::detail {

HelperThread::HelperThread() : thread_([this] { loop(); }) {}

HelperThread::~HelperThread() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        state_.store(kExit, std::memory_order_release);
    }
    wake_.notify_one();
    thread_.join();
}

void HelperThread::post(const std::function<void()>* task) {
    task_ = task;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        state_.store(kPosted, std::memory_order_release);
    }
    wake_.notify_one();
}

bool HelperThread::take_back() {
    int posted = kPosted;
    return state_.compare_exchange_strong(posted, kIdle, std::memory_order_acq_rel);
}

void HelperThread::wait() {
    for (unsigned spins = 1; state_.load(std::memory_order_acquire) != kIdle; ++spins) {
        FPSCORE_CPU_RELAX();
        if (spins % 256 == 0) std::this_thread::yield();  // let a preempted helper have the core
    }
}

void HelperThread::loop() {
    for (;;) {
        // Spin for kSpin (yielding now and then, to share a busy machine), then sleep until
        // a task or the exit comes.
        const auto until = std::chrono::steady_clock::now() + kSpin;
        int state = state_.load(std::memory_order_acquire);
        for (unsigned spins = 1; state != kPosted && state != kExit; ++spins) {
            FPSCORE_CPU_RELAX();
            if (spins % 1024 == 0) {
                if (std::chrono::steady_clock::now() > until) {
                    std::unique_lock<std::mutex> lock(mutex_);
                    wake_.wait(lock, [&] {
                        state = state_.load(std::memory_order_acquire);
                        return state == kPosted || state == kExit;
                    });
                    break;
                }
                std::this_thread::yield();
            }
            state = state_.load(std::memory_order_acquire);
        }
        if (state == kExit) return;
        int posted = kPosted;
        if (!state_.compare_exchange_strong(posted, kRunning, std::memory_order_acq_rel)) continue;  // taken back
        (*task_)();
        state_.store(kIdle, std::memory_order_release);
    }
}

namespace {

struct SharedHelper {
    std::mutex busy;
    HelperThread helper;
};

std::atomic<SharedHelper*> shared_helper{nullptr};

// A forked child has no helper thread: it makes its own (the parent's object is left).
void forget_shared_helper() { shared_helper.store(nullptr); }

SharedHelper& shared() {
    SharedHelper* helper = shared_helper.load(std::memory_order_acquire);
    if (helper != nullptr) return *helper;
#if defined(__unix__) || defined(__APPLE__)
    static const int registered = pthread_atfork(nullptr, nullptr, forget_shared_helper);
    (void)registered;
#endif
    auto* fresh = new SharedHelper();  // kept for the life of the process
    if (shared_helper.compare_exchange_strong(helper, fresh, std::memory_order_acq_rel)) return *fresh;
    delete fresh;
    return *helper;
}

}  // namespace

void run_pair(const std::function<void()>& mine, const std::function<void()>& other) {
    // Each task's exception is kept until both have finished: `other` may be running on the
    // helper with references into the caller's frame, so the caller must not unwind early,
    // and an exception escaping the helper's loop would terminate the process.
    std::exception_ptr mine_error, other_error;
    const std::function<void()> guarded = [&other, &other_error] {
        try {
            other();
        } catch (...) {
            other_error = std::current_exception();
        }
    };
    const auto run_mine = [&] {
        try {
            mine();
        } catch (...) {
            mine_error = std::current_exception();
        }
    };
    SharedHelper& helper = shared();
    std::unique_lock<std::mutex> lock(helper.busy, std::try_to_lock);
    if (!lock.owns_lock()) {
        run_mine();
        guarded();
    } else {
        helper.helper.post(&guarded);
        run_mine();
        if (helper.helper.take_back())
            guarded();
        else
            helper.helper.wait();
    }
    if (mine_error) std::rethrow_exception(mine_error);
    if (other_error) std::rethrow_exception(other_error);
}

}  // namespace fpscore::detail
