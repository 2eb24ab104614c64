#include "common/aligned_vector.hpp"

#include <cstdlib>
#include <mutex>

#include "common/fork_safe_mutex.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fpscore::detail {
namespace {

// From this size on, whole 2 MiB pages: the rounding costs at most one page in eight.
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kHugeFrom = 8 * kHugePage;

bool huge(std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    return bytes >= kHugeFrom;
#else
    (void)bytes;
    return false;
#endif
}

std::size_t whole_pages(std::size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

// Freed huge blocks kept for the next request of the same size. The C library hands blocks
// this large back to the system at once (munmap), so each new factorisation of a large matrix
// (SparseLU from scratch, a new PackedLU) page-faulted and zeroed its factor buffers again:
// on a busy machine those faults, taken by two threads at once, made repeated calls spread
// widely. Kept: at most kKeptBlocks blocks and kKeptBytes bytes (the oldest goes first).
constexpr int kKeptBlocks = 4;
constexpr std::size_t kKeptBytes = std::size_t{256} << 20;

class KeptBlocks {
public:
    void* take(std::size_t bytes) {
        std::lock_guard<ForkSafeMutex> lock(mutex_);
        for (int k = count_ - 1; k >= 0; --k)
            if (blocks_[k].bytes == bytes) {
                void* p = blocks_[k].p;
                remove(k);
                return p;
            }
        return nullptr;
    }
    // Returns false when the block is not kept (the caller frees it).
    bool keep(void* p, std::size_t bytes) {
        if (bytes > kKeptBytes) return false;
        void* evicted[kKeptBlocks];
        int evicted_count = 0;
        {
            std::lock_guard<ForkSafeMutex> lock(mutex_);
            while (count_ > 0 && (count_ == kKeptBlocks || total_ + bytes > kKeptBytes)) {
                evicted[evicted_count++] = blocks_[0].p;
                remove(0);
            }
            blocks_[count_++] = Block{p, bytes};
            total_ += bytes;
        }
        for (int k = 0; k < evicted_count; ++k) std::free(evicted[k]);
        return true;
    }

private:
    struct Block {
        void* p;
        std::size_t bytes;
    };
    void remove(int k) {
        total_ -= blocks_[k].bytes;
        for (int j = k + 1; j < count_; ++j) blocks_[j - 1] = blocks_[j];
        --count_;
    }

    ForkSafeMutex mutex_;
    Block blocks_[kKeptBlocks] = {};
    int count_ = 0;
    std::size_t total_ = 0;
};

// Never destroyed: vectors in other static objects may free blocks during exit.
KeptBlocks& kept_blocks() {
    static KeptBlocks* const kept = new KeptBlocks();
    return *kept;
}

}  // namespace

void* allocate_aligned(std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge(bytes)) {
        const std::size_t size = whole_pages(bytes);
        if (void* kept = kept_blocks().take(size)) return kept;
        void* p = std::aligned_alloc(kHugePage, size);
        if (p == nullptr) throw std::bad_alloc();
        madvise(p, size, MADV_HUGEPAGE);  // a hint: without huge pages nothing changes
        return p;
    }
#endif
    return ::operator new(bytes, std::align_val_t{kCacheLine});
}

void free_aligned(void* p, std::size_t bytes) noexcept {
    if (huge(bytes)) {
        if (!kept_blocks().keep(p, whole_pages(bytes))) std::free(p);
    } else {
        ::operator delete(p, std::align_val_t{kCacheLine});
    }
}

}  // namespace fpscore::detail
