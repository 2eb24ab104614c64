// Names of the FP solver's options, as the Python layer spells them.
#include <stdexcept>

#include "fpscore/fp_solver.hpp"

namespace fpscore {

Boundary parse_boundary(const std::string& name) {
    if (name == "zero") return Boundary::Zero;
    if (name == "dirichlet") return Boundary::Dirichlet;
    if (name == "neumann") return Boundary::Neumann;
    if (name == "periodic") return Boundary::Periodic;
    throw std::invalid_argument("unknown boundary condition '" + name +
                                "': expected 'zero', 'dirichlet', 'neumann' or 'periodic'");
}

Scheme parse_scheme(const std::string& name) {
    if (name == "central") return Scheme::Central;
    if (name == "upwind") return Scheme::Upwind;
    throw std::invalid_argument("unknown scheme '" + name + "': expected 'central' or 'upwind'");
}

Iteration parse_iteration(const std::string& name) {
    if (name == "picard") return Iteration::Picard;
    if (name == "policy") return Iteration::Policy;
    throw std::invalid_argument("unknown iteration '" + name + "': expected 'picard' or 'policy'");
}

std::string to_string(Boundary bc) {
    switch (bc) {
        case Boundary::Zero: return "zero";
        case Boundary::Dirichlet: return "dirichlet";
        case Boundary::Neumann: return "neumann";
        case Boundary::Periodic: return "periodic";
    }
    return "unknown";
}

std::string to_string(Scheme scheme) { return scheme == Scheme::Central ? "central" : "upwind"; }

std::string to_string(Iteration iteration) {
    return iteration == Iteration::Picard ? "picard" : "policy";
}

}  // namespace fpscore
