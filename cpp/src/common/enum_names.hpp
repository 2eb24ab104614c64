// Enum values by name and back, one table per enum: parse_* and to_string of the
// orderings and the FP solver's options share this.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace fpscore::detail {

template <class E, std::size_t N>
using EnumNames = std::pair<E, const char*>[N];

// The value named `name`; otherwise std::invalid_argument
// "unknown <what> '<name>': expected 'a', 'b' or 'c'".
template <class E, std::size_t N>
E parse_enum(const std::string& name, const char* what, const EnumNames<E, N>& names) {
    for (const auto& [value, spelling] : names)
        if (name == spelling) return value;
    std::string expected;
    for (std::size_t k = 0; k < N; ++k)
        expected += (k == 0 ? "'" : k + 1 == N ? " or '" : ", '") + std::string(names[k].second) + "'";
    throw std::invalid_argument("unknown " + std::string(what) + " '" + name + "': expected " + expected);
}

template <class E, std::size_t N>
std::string enum_name(E value, const EnumNames<E, N>& names) {
    for (const auto& [v, spelling] : names)
        if (v == value) return spelling;
    return "unknown";
}

}  // namespace fpscore::detail
