// A fixed split of independent work items over threads (private header).
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "fpscore/sparse/csr.hpp"

namespace fpscore::detail {

// The number of threads to use for `items` work items when `requested` threads were
// asked for (0 = all hardware threads).
inline int thread_count(int requested, index_t items) {
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return std::max(1, static_cast<int>(std::min<long long>(requested == 0 ? hw : requested, items)));
}

// Each thread calls make_worker() once for its own state, then worker(k) for the items k
// it takes from [0, items); the calling thread is one of them. After the first error (of
// make_worker, or of an item) no further item is handed out; every thread is joined, then
// the exception of the lowest failing item is rethrown (items are handed out in order and
// every item handed out runs, so that is the lowest failing item overall: errors do not
// depend on scheduling), else the first make_worker error. If a thread cannot be started,
// the ones that did and the calling thread do all the work.
template <class MakeWorker>
void parallel_for(index_t items, int threads, MakeWorker&& make_worker) {
    std::atomic<index_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex mutex;
    index_t failed = items;
    std::exception_ptr item_error, worker_error;
    auto run = [&]() noexcept {
        try {
            auto worker = make_worker();
            while (!stop.load(std::memory_order_relaxed)) {
                const index_t k = next++;
                if (k >= items) break;
                try {
                    worker(k);
                } catch (...) {
                    stop.store(true, std::memory_order_relaxed);
                    std::lock_guard<std::mutex> lock(mutex);
                    if (k < failed) {
                        failed = k;
                        item_error = std::current_exception();
                    }
                }
            }
        } catch (...) {  // make_worker (e.g. its workspace), or the worker's destructor
            stop.store(true, std::memory_order_relaxed);
            std::lock_guard<std::mutex> lock(mutex);
            if (!worker_error) worker_error = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    try {
        pool.reserve(static_cast<size_t>(std::max(threads, 1) - 1));
        for (int t = 1; t < threads; ++t) pool.emplace_back(run);
    } catch (...) {  // no memory or no thread left: carry on with those that started
    }
    run();
    for (auto& t : pool) t.join();
    if (item_error) std::rethrow_exception(item_error);
    if (worker_error) std::rethrow_exception(worker_error);
}

}  // namespace fpscore::detail
