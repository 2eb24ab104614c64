// Error types of fpscore. Bad arguments throw std::invalid_argument; numerical
// failures throw one of the types below so that callers can tell them apart.
#pragma once

#include <stdexcept>
#include <string>

namespace fpscore {

// A pivot of the LU factorisation is zero, tiny relative to its row, or not finite.
class SingularMatrixError : public std::runtime_error {
public:
    explicit SingularMatrixError(const std::string& what) : std::runtime_error(what) {}
};

// A fixed-point iteration of the Fokker–Planck solver did not converge, or produced
// non-finite values.
class ConvergenceError : public std::runtime_error {
public:
    explicit ConvergenceError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace fpscore
