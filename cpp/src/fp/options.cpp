// Names of the FP solver's options, as the Python layer spells them.
#include "common/enum_names.hpp"
#include "fpscore/fp/solver.hpp"

namespace fpscore {
namespace {
constexpr detail::EnumNames<Boundary, 4> kBoundaryNames = {
    {Boundary::Zero, "zero"},
    {Boundary::Dirichlet, "dirichlet"},
    {Boundary::Neumann, "neumann"},
    {Boundary::Periodic, "periodic"},
};
constexpr detail::EnumNames<Scheme, 2> kSchemeNames = {{Scheme::Central, "central"}, {Scheme::Upwind, "upwind"}};
constexpr detail::EnumNames<Iteration, 2> kIterationNames = {{Iteration::Picard, "picard"},
                                                             {Iteration::Policy, "policy"}};
}  // namespace

Boundary parse_boundary(const std::string& name) {
    return detail::parse_enum(name, "boundary condition", kBoundaryNames);
}
Scheme parse_scheme(const std::string& name) { return detail::parse_enum(name, "scheme", kSchemeNames); }
Iteration parse_iteration(const std::string& name) {
    return detail::parse_enum(name, "iteration", kIterationNames);
}

std::string to_string(Boundary bc) { return detail::enum_name(bc, kBoundaryNames); }
std::string to_string(Scheme scheme) { return detail::enum_name(scheme, kSchemeNames); }
std::string to_string(Iteration iteration) { return detail::enum_name(iteration, kIterationNames); }

}  // namespace fpscore
