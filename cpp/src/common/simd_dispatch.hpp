// Runtime dispatch of hot kernels to an instruction-set level (private header). Wheels
// are built for baseline x86-64; each kernel defined with FPSCORE_SIMD_KERNEL is compiled
// also for x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512 F/BW/CD/DQ/VL), and the version
// for the active level is chosen at its first call, so no -march=native is needed.
//
// The active level is the best one the CPU supports, or the one the environment variable
// FPSCORE_SIMD (baseline | avx2 | avx512, read once) asks for. It decides both which
// compiled version of every kernel runs and the widest pack of interleaved matrices (eight
// lanes with AVX-512, four otherwise), so forcing a level runs exactly the code a CPU of
// that level would run. An unknown value, or a level this CPU lacks, is an error
// (std::invalid_argument from simd_level(), which the public entry points call first).
#pragma once

#include <algorithm>
#include <cmath>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(FPSCORE_NO_DISPATCH)
#define FPSCORE_HAS_DISPATCH 1
#define FPSCORE_TARGET_AVX512 __attribute__((target("arch=x86-64-v4")))
#define FPSCORE_TARGET_AVX2 __attribute__((target("arch=x86-64-v3")))
#else
#define FPSCORE_HAS_DISPATCH 0
#endif

#if defined(__GNUC__) || defined(__clang__)
// Lambdas in the kernels must be inlined too: compiled on their own, they would miss the
// instruction set of the kernel version that calls them.
#define FPSCORE_INLINE_LAMBDA __attribute__((always_inline))
#define FPSCORE_INLINE inline __attribute__((always_inline))
#define FPSCORE_RESTRICT __restrict__
#else
#define FPSCORE_INLINE_LAMBDA
#define FPSCORE_INLINE inline
#define FPSCORE_RESTRICT
#endif

namespace fpscore::detail {

// The kernel levels, lowest first.
enum class SimdLevel : int { Baseline = 0, Avx2 = 1, Avx512 = 2 };
inline constexpr SimdLevel kSimdLevels[] = {SimdLevel::Baseline, SimdLevel::Avx2, SimdLevel::Avx512};

// "baseline", "avx2" or "avx512" (the values FPSCORE_SIMD accepts).
const char* simd_level_name(SimdLevel level) noexcept;
// The best level this CPU (and this build) supports.
SimdLevel best_simd_level() noexcept;
// The active level: best_simd_level(), or FPSCORE_SIMD's, read once. Throws
// std::invalid_argument (on every call) when FPSCORE_SIMD names no level or one this CPU
// lacks.
SimdLevel simd_level();
// The active level for the kernels, which must not throw: baseline when FPSCORE_SIMD is
// invalid (the public entry points have called simd_level() and thrown before any kernel).
SimdLevel kernel_simd_level() noexcept;

// True when the kernels run with 512-bit vector registers (the AVX-512 level), checked once.
inline bool has_wide_registers() {
    static const bool wide = kernel_simd_level() == SimdLevel::Avx512;
    return wide;
}

// The version of a kernel for the active level.
template <class F>
F pick_kernel(F avx512, F avx2, F baseline) noexcept {
    switch (kernel_simd_level()) {
        case SimdLevel::Avx512: return avx512;
        case SimdLevel::Avx2: return avx2;
        default: return baseline;
    }
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
// registers in the x86-64-v3/v4 versions and SSE2 registers in the baseline.
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

// FPSCORE_SIMD_KERNEL(ret, name, (params), (args)) defines `ret name(params)`, which runs
// `name##_body(args)` (an FPSCORE_INLINE function, with everything it calls inlined)
// compiled once per level; the version for the active level is chosen at the first call
// and called through a function pointer from then on (as an ifunc would be). Written out
// instead of target_clones, whose resolver cannot be told to pick a lower level.
#if FPSCORE_HAS_DISPATCH
#define FPSCORE_SIMD_KERNEL(ret, name, params, args)                                               \
    FPSCORE_TARGET_AVX512 ret name##_avx512 params { return name##_body args; }                    \
    FPSCORE_TARGET_AVX2 ret name##_avx2 params { return name##_body args; }                        \
    ret name##_baseline params { return name##_body args; }                                        \
    ret name params {                                                                              \
        static const auto kernel =                                                                 \
            ::fpscore::detail::pick_kernel(&name##_avx512, &name##_avx2, &name##_baseline);        \
        return kernel args;                                                                        \
    }
#else
#define FPSCORE_SIMD_KERNEL(ret, name, params, args) \
    ret name params { return name##_body args; }
#endif
