// Numbers in error messages, written as a user would type them (private header).
#pragma once

#include <sstream>
#include <string>

namespace fpscore::detail {

inline std::string str(double value) {
    std::ostringstream out;
    out << value;
    return out.str();
}

}  // namespace fpscore::detail
