// Faults in the threading helpers: exceptions in run_pair's two tasks and in parallel_for's
// workers and items, thread creation failing, and a mutex held by another thread at fork.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <fstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "check.hpp"
#include "common/fork_safe_mutex.hpp"
#include "common/helper_thread.hpp"
#include "common/parallel.hpp"

using namespace fpscore;
using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__)
#define FPSCORE_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FPSCORE_TEST_TSAN 1
#endif
#endif
#ifndef FPSCORE_TEST_TSAN
#define FPSCORE_TEST_TSAN 0
#endif

namespace {

struct MineError : std::runtime_error {
    MineError() : std::runtime_error("mine") {}
};
struct OtherError : std::runtime_error {
    OtherError() : std::runtime_error("other") {}
};

// Waits (up to 2 s) for `flag`: lets the helper start `other` before `mine` returns.
void wait_for(const std::atomic<bool>& flag) {
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (!flag.load() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
}

// A pair whose tasks add to a sum: the helper works after each fault.
bool pair_still_works() {
    std::atomic<long> sum{0};
    for (int round = 0; round < 100; ++round)
        detail::run_pair([&] { sum += 1; }, [&] { sum += 1000; });
    return sum.load() == 100 * 1001;
}

void test_run_pair_exceptions() {
    for (int round = 0; round < 20; ++round) {
        // `other` throws on the helper (mine waits for it to start): rethrown here, not a
        // terminated process.
        std::atomic<bool> started{false};
        bool caught = false;
        try {
            detail::run_pair([&] { wait_for(started); },
                             [&] {
                                 started = true;
                                 throw OtherError();
                             });
        } catch (const OtherError&) {
            caught = true;
        }
        CHECK(caught);
        CHECK(pair_still_works());

        // `mine` throws at once while `other` still runs: run_pair waits for `other` (which
        // writes into this frame) before the exception leaves it.
        std::atomic<bool> other_started{false}, other_done{false};
        caught = false;
        try {
            detail::run_pair(
                [&] {
                    wait_for(other_started);
                    throw MineError();
                },
                [&] {
                    other_started = true;
                    std::this_thread::sleep_for(5ms);
                    other_done = true;
                });
        } catch (const MineError&) {
            caught = true;
            CHECK(other_done.load());
        }
        CHECK(caught);

        // Both throw: the caller's exception wins; bad_alloc passes through as itself.
        bool mine_won = false;
        try {
            detail::run_pair([&] { throw MineError(); }, [&] { throw std::bad_alloc(); });
        } catch (const MineError&) {
            mine_won = true;
        } catch (...) {
        }
        CHECK(mine_won);
        bool bad_alloc = false;
        try {
            detail::run_pair([] {}, [] { throw std::bad_alloc(); });
        } catch (const std::bad_alloc&) {
            bad_alloc = true;
        }
        CHECK(bad_alloc);
        CHECK(pair_still_works());
    }
}

void test_run_pair_exception_while_the_helper_is_busy() {
    // Another thread holds the helper: run_pair runs both tasks here; both still run.
    std::atomic<bool> holding{false}, release{false};
    std::thread holder([&] {
        detail::run_pair([&] {
            holding = true;
            wait_for(release);
        }, [] {});
    });
    wait_for(holding);
    bool other_ran = false, caught = false;
    try {
        detail::run_pair([] { throw MineError(); }, [&] { other_ran = true; });
    } catch (const MineError&) {
        caught = true;
    }
    release = true;
    holder.join();
    CHECK(caught);
    CHECK(other_ran);
    CHECK(pair_still_works());
}

void test_parallel_for_errors() {
    for (int threads : {1, 2, 4}) {
        // The lowest failing item's exception, whatever the scheduling; fail fast: after the
        // first error no item is handed out (at most one more per thread may be in flight).
        for (int round = 0; round < 20; ++round) {
            std::atomic<int> ran{0};
            std::string what;
            try {
                detail::parallel_for(100000, threads, [&] {
                    return [&](index_t k) {
                        ++ran;
                        if (k == 7 || k == 30) throw std::runtime_error("item " + std::to_string(k));
                        // Items take 100 µs: the error stops the hand-out once it is caught in
                        // parallel_for, and unwinding to there takes longer than hundreds of empty
                        // items under a sanitizer or when the thread is descheduled (seen: up to
                        // 999 under AddressSanitizer).
                        std::this_thread::sleep_for(100us);
                    };
                });
            } catch (const std::runtime_error& e) {
                what = e.what();
            }
            CHECK(what == "item 7");
            CHECK_LE(ran.load(), 31 + threads);
        }
        // make_worker throwing (a workspace allocation) on one thread: rethrown after every
        // thread is joined, no item after the error.
        std::atomic<int> made{0}, ran{0};
        std::atomic<bool> failing{false};
        const auto until = std::chrono::steady_clock::now() + 2s;
        bool caught = false;
        try {
            detail::parallel_for(100000, threads, [&] {
                if (++made == threads) {
                    failing = true;
                    throw std::bad_alloc();
                }
                return [&](index_t) {
                    // The items start once the error is under way (or after 2 s in all), and
                    // take 100 µs each: between `failing` and the catch in parallel_for that
                    // stops the hand-out, the throwing thread unwinds its stack, which under a
                    // sanitizer, or descheduled on a busy machine, lasts as long as thousands
                    // of empty items (seen: 1595 to 100000 under AddressSanitizer).
                    while (!failing.load() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
                    std::this_thread::sleep_for(100us);
                    ++ran;
                };
            });
        } catch (const std::bad_alloc&) {
            caught = true;
        }
        CHECK(caught);
        CHECK_LE(ran.load(), 1000);
        // And it still works.
        std::vector<int> hit(1000, 0);
        detail::parallel_for(1000, threads, [&] { return [&](index_t k) { hit[static_cast<size_t>(k)] += 1; }; });
        bool all_once = true;
        for (int h : hit) all_once = all_once && h == 1;
        CHECK(all_once);
    }
}

#if defined(__linux__)
// Waits for a child (up to 30 s, then kills it) and returns its exit code, or -signal.
int wait_child(pid_t pid) {
    int status = 0;
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1000;  // hung
        }
        std::this_thread::sleep_for(1ms);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// The address space in use, from /proc/self/statm (pages).
long address_space_bytes() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0;
    statm >> pages;
    return pages * sysconf(_SC_PAGESIZE);
}

[[maybe_unused]] void test_parallel_for_when_threads_cannot_start() {
    // In a child whose address space has no room for a thread stack (8 MiB), std::thread
    // throws: the calling thread does the work (before: std::terminate once one thread had
    // started, or the system_error).
    for (const long room_mib : {1L, 12L}) {  // no thread, or one, starts
        const pid_t pid = fork();
        if (pid == 0) {
            std::vector<int> hit(1000, 0);
            const rlimit limit{static_cast<rlim_t>(address_space_bytes() + (room_mib << 20)),
                               static_cast<rlim_t>(address_space_bytes() + (room_mib << 20))};
            if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(10);
            try {
                detail::parallel_for(1000, 6, [&] { return [&](index_t k) { hit[static_cast<size_t>(k)] += 1; }; });
            } catch (...) {
                _exit(11);
            }
            for (int h : hit)
                if (h != 1) _exit(12);
            _exit(0);
        }
        const int code = wait_child(pid);
        CHECK(code == 0);
        if (code != 0) std::cerr << "  child exit " << code << " with " << room_mib << " MiB of room\n";
    }
}

// Locks m on another thread for a while, forks meanwhile, and returns whether the child
// found m unlocked (try_lock) and exited on its own.
template <class Mutex>
bool child_finds_unlocked(Mutex& m, bool hold_until_forked) {
    std::atomic<bool> held{false}, forked{false};
    std::thread holder([&] {
        std::lock_guard<Mutex> lock(m);
        held = true;
        if (hold_until_forked)
            wait_for(forked);
        else
            std::this_thread::sleep_for(20ms);
    });
    wait_for(held);
    const pid_t pid = fork();
    if (pid == 0) {
        if (!m.try_lock()) _exit(1);
        m.unlock();
        _exit(0);
    }
    forked = true;
    holder.join();
    return wait_child(pid) == 0;
}

void test_fork_safe_mutex() {
    // The hazard: a plain mutex held by another thread at fork stays locked in the child.
    std::mutex plain;
    CHECK(!child_finds_unlocked(plain, true));
    // A ForkSafeMutex: fork waits for the holder, the child gets it unlocked.
    static detail::ForkSafeMutex safe;
    for (int round = 0; round < 10; ++round) CHECK(child_finds_unlocked(safe, false));
    // Two of them, and one destroyed: the handlers keep working.
    {
        detail::ForkSafeMutex scoped;
        CHECK(child_finds_unlocked(scoped, false));
    }
    CHECK(child_finds_unlocked(safe, false));
}
#endif

}  // namespace

int main() {
    test_run_pair_exceptions();
    test_run_pair_exception_while_the_helper_is_busy();
    test_parallel_for_errors();
#if defined(__linux__)
#if !FPSCORE_TEST_TSAN
    // Under ThreadSanitizer a child forked from a threaded process may not start threads,
    // and the sanitizer's own mappings make an address-space limit meaningless.
    test_parallel_for_when_threads_cannot_start();
#endif
    test_fork_safe_mutex();
#endif
    return check::summary("test_threads");
}
