#include "fpscore/version.hpp"

#ifndef FPSCORE_VERSION
#error "FPSCORE_VERSION must be defined by the build"
#endif

namespace fpscore {

const char* version() noexcept { return FPSCORE_VERSION; }

}  // namespace fpscore
