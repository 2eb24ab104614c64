// std::vector storage aligned to a cache line.
//
// The batched kernels load and store whole SIMD registers of interleaved lanes (up to
// 64 bytes); on buffers with malloc's 16-byte alignment most of those accesses would
// straddle two cache lines.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace fpscore {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheAlignedAllocator {
    using value_type = T;

    CacheAlignedAllocator() noexcept = default;
    template <class U>
    CacheAlignedAllocator(const CacheAlignedAllocator<U>&) noexcept {}

    T* allocate(std::size_t count) {
        return static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t{kCacheLine}));
    }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{kCacheLine}); }

    template <class U>
    bool operator==(const CacheAlignedAllocator<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const CacheAlignedAllocator<U>&) const noexcept { return false; }
};

template <class T>
using aligned_vector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace fpscore
