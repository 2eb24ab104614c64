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
// it takes from [0, items). Rethrows the exception of the lowest failing item, so errors
// do not depend on scheduling.
template <class MakeWorker>
void parallel_for(index_t items, int threads, MakeWorker&& make_worker) {
    std::atomic<index_t> next{0};
    std::mutex mutex;
    index_t failed = items;
    std::exception_ptr error;
    auto run = [&]() {
        auto worker = make_worker();
        for (index_t k = next++; k < items; k = next++) {
            try {
                worker(k);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex);
                if (k < failed) {
                    failed = k;
                    error = std::current_exception();
                }
            }
        }
    };
    if (threads <= 1) {
        run();
    } else {
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) pool.emplace_back(run);
        for (auto& t : pool) t.join();
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace fpscore::detail
