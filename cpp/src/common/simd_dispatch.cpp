// The active kernel level (simd_dispatch.hpp): the CPU's best, or FPSCORE_SIMD's, fixed at
// the first use.
#include "common/simd_dispatch.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "fpscore/version.hpp"

namespace fpscore::detail {
namespace {

struct SimdChoice {
    SimdLevel level = SimdLevel::Baseline;
    std::string error;  // non-empty: FPSCORE_SIMD is invalid here (level is then baseline)
};

std::string supported_levels(SimdLevel best) {
    std::string names;
    for (SimdLevel level : kSimdLevels)
        if (level <= best) names += std::string(names.empty() ? "" : ", ") + simd_level_name(level);
    return names;
}

SimdChoice choose() {
    SimdChoice choice;
    const SimdLevel best = best_simd_level();
    choice.level = best;
    const char* env = std::getenv("FPSCORE_SIMD");
    if (env == nullptr || *env == '\0' || std::string(env) == "auto") return choice;
    const std::string asked(env);
    for (SimdLevel level : kSimdLevels)
        if (asked == simd_level_name(level)) {
            if (level <= best) {
                choice.level = level;
            } else {
                choice.level = SimdLevel::Baseline;
                choice.error = "FPSCORE_SIMD=" + asked + " asks for a kernel level this CPU (or build) lacks; it " +
                               "runs " + supported_levels(best) + ". Unset FPSCORE_SIMD or set one of those.";
            }
            return choice;
        }
    choice.level = SimdLevel::Baseline;
    choice.error = "FPSCORE_SIMD=" + asked +
                   " is not a kernel level: use baseline, avx2, avx512 or auto (or leave it unset); this CPU runs " +
                   supported_levels(best);
    return choice;
}

const SimdChoice& simd_choice() {
    static const SimdChoice choice = choose();
    return choice;
}

}  // namespace

const char* simd_level_name(SimdLevel level) noexcept {
    switch (level) {
        case SimdLevel::Avx512: return "avx512";
        case SimdLevel::Avx2: return "avx2";
        default: return "baseline";
    }
}

SimdLevel best_simd_level() noexcept {
#if FPSCORE_HAS_DISPATCH
    // What the x86-64-v3/v4 versions may use (the kernels' own instructions are AVX2, FMA and
    // AVX-512 F/DQ/VL, but the compiler may use any instruction of the level). The
    // checks include the operating system's support for the wider registers.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
    if (__builtin_cpu_supports("x86-64-v4")) return SimdLevel::Avx512;
    if (__builtin_cpu_supports("x86-64-v3")) return SimdLevel::Avx2;
#else
    const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    if (v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return SimdLevel::Avx512;
    if (v3) return SimdLevel::Avx2;
#endif
#endif
    return SimdLevel::Baseline;
}

SimdLevel simd_level() {
    const SimdChoice& choice = simd_choice();
    if (!choice.error.empty()) throw std::invalid_argument(choice.error);
    return choice.level;
}

SimdLevel kernel_simd_level() noexcept { return simd_choice().level; }

}  // namespace fpscore::detail

namespace fpscore {

const char* simd_level() { return detail::simd_level_name(detail::simd_level()); }

std::vector<std::string> simd_levels() {
    std::vector<std::string> names;
    for (detail::SimdLevel level : detail::kSimdLevels)
        if (level <= detail::best_simd_level()) names.emplace_back(detail::simd_level_name(level));
    return names;
}

}  // namespace fpscore
