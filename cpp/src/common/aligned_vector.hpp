// std::vector storage aligned to a cache line.
//
// The batched kernels load and store whole SIMD registers of interleaved lanes (up to
// 64 bytes); on buffers with malloc's 16-byte alignment most of those accesses would
// straddle two cache lines. Large buffers (factors of big grids) are also placed on huge
// pages where the system offers them, so that first touching them costs far fewer page
// faults.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace fpscore {

inline constexpr std::size_t kCacheLine = 64;

namespace detail {
// Storage for `bytes` bytes, aligned to a cache line (to a huge page when large).
void* allocate_aligned(std::size_t bytes);
void free_aligned(void* p, std::size_t bytes) noexcept;
}  // namespace detail

template <class T>
struct CacheAlignedAllocator {
    using value_type = T;

    CacheAlignedAllocator() noexcept = default;
    template <class U>
    CacheAlignedAllocator(const CacheAlignedAllocator<U>&) noexcept {}

    T* allocate(std::size_t count) { return static_cast<T*>(detail::allocate_aligned(count * sizeof(T))); }
    void deallocate(T* p, std::size_t count) noexcept { detail::free_aligned(p, count * sizeof(T)); }

    // resize(n) and vector(n) leave new numbers uninitialised (no pass over a buffer that
    // is about to be overwritten); assign(n, value) and vector(n, value) still set them.
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(static_cast<Args&&>(args)...);
    }

    template <class U>
    bool operator==(const CacheAlignedAllocator<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const CacheAlignedAllocator<U>&) const noexcept { return false; }
};

template <class T>
using aligned_vector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace fpscore
