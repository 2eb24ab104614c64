#pragma once

#include <string>
#include <vector>

namespace fpscore {

// The library version, "MAJOR.MINOR.PATCH", as set in the top-level CMakeLists.txt.
const char* version() noexcept;

// The instruction-set level the kernels run at: "baseline" (x86-64, SSE2), "avx2"
// (x86-64-v3: AVX2, FMA) or "avx512" (x86-64-v4: AVX-512 F/BW/CD/DQ/VL). The best level
// of the CPU unless the environment variable FPSCORE_SIMD (baseline | avx2 | avx512 |
// auto, read once per process) asks for another; throws std::invalid_argument when
// FPSCORE_SIMD names no level or one this CPU lacks (as does every solver then).
const char* simd_level();
// The levels this CPU and build can run, lowest first (the values FPSCORE_SIMD accepts).
std::vector<std::string> simd_levels();

}  // namespace fpscore
