#pragma once

namespace fpscore {

// The library version, "MAJOR.MINOR.PATCH", as set in the top-level CMakeLists.txt.
const char* version() noexcept;

}  // namespace fpscore
