// Runtime dispatch of hot kernels to the best instruction set of the running CPU
// (private header). Wheels are built for baseline x86-64; GCC/Clang compile each
// marked function also for x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512) and pick
// one at load time, so no -march=native is needed.
#pragma once

#include <algorithm>
#include <cmath>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(FPSCORE_NO_DISPATCH) && \
    defined(__ELF__)
#define FPSCORE_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FPSCORE_SIMD_CLONES
#endif

#if defined(__GNUC__) || defined(__clang__)
// Lambdas in the kernels must be inlined too: compiled on their own, they would miss the
// instruction set of the clone that calls them.
#define FPSCORE_INLINE_LAMBDA __attribute__((always_inline))
#define FPSCORE_INLINE inline __attribute__((always_inline))
#define FPSCORE_RESTRICT __restrict__
#else
#define FPSCORE_INLINE_LAMBDA
#define FPSCORE_INLINE inline
#define FPSCORE_RESTRICT
#endif

namespace fpscore::detail {

// True when the CPU has 512-bit vector registers (AVX-512), checked once.
inline bool has_wide_registers() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static const bool wide = __builtin_cpu_supports("avx512f");
    return wide;
#else
    return false;
#endif
}

// While alive, subnormal results are flushed to zero and subnormal inputs read as zero
// (the x86 control word, restored on exit). Fill entries of L decay geometrically away
// from the diagonal and turn subnormal on large grids, where each operation on them takes
// a slow microcode path (measured: a 256² factorisation 1.5× slower); values below
// 2.2e-308 in the factors change no result that matters.
class FlushSubnormals {
public:
#if defined(__x86_64__) || defined(__i386__)
    FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero); }
    ~FlushSubnormals() { _mm_setcsr(saved_); }
#else
    FlushSubnormals() = default;
#endif
    FlushSubnormals(const FlushSubnormals&) = delete;
    FlushSubnormals& operator=(const FlushSubnormals&) = delete;

private:
#if defined(__x86_64__) || defined(__i386__)
    static constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x0040;
    unsigned saved_;
#endif
};

// kWidth doubles processed as one value: GCC/Clang vector extensions become AVX
// registers in the x86-64-v3/v4 clones and SSE2 registers in the baseline.
template <int kWidth>
struct SimdVector {
    typedef double type __attribute__((vector_size(kWidth * sizeof(double))));
};

template <int kWidth>
FPSCORE_INLINE typename SimdVector<kWidth>::type load_vector(const double* p) {
    typename SimdVector<kWidth>::type v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

template <int kWidth>
FPSCORE_INLINE void store_vector(double* p, typename SimdVector<kWidth>::type v) {
    __builtin_memcpy(p, &v, sizeof v);
}

// Element access for W doubles handled as one value (the lanes of a pack, or the rows of a
// group): a SIMD vector, or a plain double when W = 1.
template <int W>
struct VectorOps {
    using V = typename SimdVector<W>::type;
    static FPSCORE_INLINE V load(const double* p) { return load_vector<W>(p); }
    static FPSCORE_INLINE void store(double* p, V v) { store_vector<W>(p, v); }
    // max(m, |x|) element by element.
    static FPSCORE_INLINE V max_abs(V m, V x) {
        const V a = x < 0.0 ? -x : x;
        return a > m ? a : m;
    }
};

template <>
struct VectorOps<1> {
    using V = double;
    static FPSCORE_INLINE V load(const double* p) { return *p; }
    static FPSCORE_INLINE void store(double* p, V v) { *p = v; }
    static FPSCORE_INLINE V max_abs(V m, V x) { return std::max(m, std::abs(x)); }
};

}  // namespace fpscore::detail
