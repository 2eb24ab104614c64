// A minimal check harness for the C++ unit tests: each failed CHECK prints where
// and why; main returns the failure count.
#pragma once

#include <cmath>
#include <iostream>
#include <string>

namespace check {

inline int& failures() {
    static int count = 0;
    return count;
}

inline void report(bool ok, const char* expr, const char* file, int line, const std::string& extra = {}) {
    if (ok) return;
    ++failures();
    std::cerr << file << ":" << line << ": CHECK failed: " << expr;
    if (!extra.empty()) std::cerr << " (" << extra << ")";
    std::cerr << "\n";
}

inline int summary(const char* suite) {
    if (failures() == 0) std::cout << suite << ": all checks passed\n";
    else std::cout << suite << ": " << failures() << " check(s) failed\n";
    return failures() == 0 ? 0 : 1;
}

}  // namespace check

#define CHECK(expr) ::check::report(static_cast<bool>(expr), #expr, __FILE__, __LINE__)
#define CHECK_LE(a, b) \
    ::check::report((a) <= (b), #a " <= " #b, __FILE__, __LINE__, std::to_string(a) + " vs " + std::to_string(b))
#define CHECK_THROWS(type, stmt)                                          \
    do {                                                                  \
        bool thrown_ = false;                                             \
        try { stmt; } catch (const type&) { thrown_ = true; } catch (...) {} \
        ::check::report(thrown_, "throws " #type ": " #stmt, __FILE__, __LINE__); \
    } while (0)
