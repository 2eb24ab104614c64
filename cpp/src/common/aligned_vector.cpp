#include "common/aligned_vector.hpp"

#include <cstdlib>

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

}  // namespace

void* allocate_aligned(std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge(bytes)) {
        void* p = std::aligned_alloc(kHugePage, whole_pages(bytes));
        if (p == nullptr) throw std::bad_alloc();
        madvise(p, whole_pages(bytes), MADV_HUGEPAGE);  // a hint: without huge pages nothing changes
        return p;
    }
#endif
    return ::operator new(bytes, std::align_val_t{kCacheLine});
}

void free_aligned(void* p, std::size_t bytes) noexcept {
    if (huge(bytes))
        std::free(p);
    else
        ::operator delete(p, std::align_val_t{kCacheLine});
}

}  // namespace fpscore::detail
