// max_product_matching against brute force over all permutations (n <= 8) and against its own
// postconditions, which certify optimality for any n: if |B| <= 1 everywhere and = 1 on the
// matching, no other perfect matching has a larger product (their products differ from B's by
// the same factor Π row_scale · Π column_scale).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "fpscore/errors.hpp"
#include "sparse/ordering/matching.hpp"
#include "sparse_test_matrices.hpp"

using fpscore::index_t;
using fpscore::offset_t;
using fpscore::detail::MatchingScaling;
using fpscore::detail::max_product_matching;

namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// A CSR matrix from a dense one: stored[i*n + j] says which entries are in the pattern
// (a stored entry may hold an explicit zero).
TestCsr from_dense(index_t n, const std::vector<double>& dense, const std::vector<bool>& stored) {
    TestCsr a;
    a.n = n;
    a.indptr.push_back(0);
    for (index_t i = 0; i < n; ++i) {
        for (index_t j = 0; j < n; ++j)
            if (stored[i * n + j]) {
                a.indices.push_back(j);
                a.data.push_back(dense[i * n + j]);
            }
        a.indptr.push_back(static_cast<offset_t>(a.indices.size()));
    }
    return a;
}

TestCsr from_dense(index_t n, const std::vector<double>& dense) {
    std::vector<bool> stored(dense.size());
    for (std::size_t k = 0; k < dense.size(); ++k) stored[k] = dense[k] != 0.0;
    return from_dense(n, dense, stored);
}

MatchingScaling run(const TestCsr& a) { return max_product_matching(a.view(), a.data.data(), a.data.size()); }

// The best log-product Σ_j log|a[p(j), j]| over all permutations p (−inf if none avoids a zero)
// and the largest number of nonzeros any permutation puts on its positions (the structural rank).
struct BruteForce {
    double best_log_product = -std::numeric_limits<double>::infinity();
    int structural_rank = 0;
};

BruteForce brute_force(index_t n, const std::vector<double>& dense) {
    std::vector<index_t> p(static_cast<std::size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    BruteForce result;
    do {
        double log_product = 0.0;
        int nonzeros = 0;
        for (index_t j = 0; j < n; ++j) {
            const double x = dense[p[j] * n + j];
            if (x != 0.0) {
                ++nonzeros;
                log_product += std::log(std::abs(x));
            }
        }
        result.structural_rank = std::max(result.structural_rank, nonzeros);
        if (nonzeros == n) result.best_log_product = std::max(result.best_log_product, log_product);
    } while (std::next_permutation(p.begin(), p.end()));
    return result;
}

bool is_permutation(const std::vector<index_t>& p, index_t n) {
    if (static_cast<index_t>(p.size()) != n) return false;
    std::vector<char> seen(static_cast<std::size_t>(n), 0);
    for (const index_t i : p) {
        if (i < 0 || i >= n || seen[i]) return false;
        seen[i] = 1;
    }
    return true;
}

// The largest |log|a_ij|| over the nonzero entries: the scales carry absolute errors of about
// that many ulps in the log domain, hence relative errors in B of that size.
double log_range(const TestCsr& a) {
    double range = 0.0;
    for (const double x : a.data)
        if (x != 0.0) range = std::max(range, std::abs(std::log(std::abs(x))));
    return range;
}

// The worst deviations of B = diag(r) A diag(c) from the postconditions: max over entries of
// |b| - 1 and max over the matching of ||b| - 1|. Scales must be finite and positive.
struct Deviation {
    double above_one = -1.0;
    double matched_off_one = 0.0;
};

Deviation deviation(const TestCsr& a, const MatchingScaling& m) {
    Deviation dev;
    for (index_t k = 0; k < a.n; ++k) {
        CHECK(std::isfinite(m.row_scale[k]) && m.row_scale[k] > 0.0);
        CHECK(std::isfinite(m.column_scale[k]) && m.column_scale[k] > 0.0);
    }
    for (index_t i = 0; i < a.n; ++i)
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) {
            const index_t j = a.indices[p];
            // In the log domain, so that no intermediate product over- or underflows.
            const double log_b = std::log(std::abs(a.data[p])) + std::log(m.row_scale[i]) + std::log(m.column_scale[j]);
            const double b = a.data[p] == 0.0 ? 0.0 : std::exp(log_b);
            dev.above_one = std::max(dev.above_one, b - 1.0);
            if (m.row_of_column[j] == i) dev.matched_off_one = std::max(dev.matched_off_one, std::abs(b - 1.0));
        }
    return dev;
}

double worst_seen = 0.0;  // the largest deviation relative to (1 + log range), for the report

void check_postconditions(const TestCsr& a, const MatchingScaling& m, double ulps = 16.0) {
    CHECK(is_permutation(m.row_of_column, a.n));
    CHECK(m.row_scale.size() == static_cast<std::size_t>(a.n));
    CHECK(m.column_scale.size() == static_cast<std::size_t>(a.n));
    // Each matched entry is nonzero and stored.
    for (index_t j = 0; j < a.n; ++j) {
        const index_t i = m.row_of_column[j];
        bool found = false;
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) found |= a.indices[p] == j && a.data[p] != 0.0;
        CHECK(found);
    }
    const Deviation dev = deviation(a, m);
    // exp and log in the check itself add errors of about |log b| ulps, hence the range term.
    const double tol = ulps * kEps * (1.0 + log_range(a));
    CHECK_LE(dev.above_one, tol);
    CHECK_LE(dev.matched_off_one, tol);
    if (dev.above_one > tol || dev.matched_off_one > tol) {
        std::fprintf(stderr, "  n = %d, deviations %.3g and %.3g, tolerance %.3g\n", a.n, dev.above_one,
                     dev.matched_off_one, tol);
        for (index_t k = 0; k < a.n && a.n <= 8; ++k)
            std::fprintf(stderr, "  k = %d: row of column %d, scales %.17g %.17g\n", k, m.row_of_column[k],
                         m.row_scale[k], m.column_scale[k]);
    }
    worst_seen = std::max(worst_seen, std::max(dev.above_one, dev.matched_off_one) / (kEps * (1.0 + log_range(a))));
}

double matched_log_product(const TestCsr& a, const MatchingScaling& m) {
    double sum = 0.0;
    for (index_t i = 0; i < a.n; ++i)
        for (offset_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p)
            if (m.row_of_column[a.indices[p]] == i) sum += std::log(std::abs(a.data[p]));
    return sum;
}

bool message_has(const std::exception& e, const std::string& text) {
    return std::string(e.what()).find(text) != std::string::npos;
}

// Random small matrices against brute force. Values come from a short list (many ties, in
// products too) or from a continuous range; stored entries are sometimes explicit zeros.
void test_brute_force() {
    const double tie_values[] = {1.0, -1.0, 2.0, -2.0, 0.5, 4.0, -0.25, 3.0, 6.0, -1.5};
    int optimal = 0, singular = 0;
    for (unsigned seed = 0; seed < 1200; ++seed) {
        std::mt19937 rng(seed);
        const auto n = static_cast<index_t>(1 + seed % 8);
        const double density = std::uniform_real_distribution<double>(0.25, 0.95)(rng);
        const int kind = static_cast<int>(seed / 8 % 3);  // 0: ties, 1: continuous, 2: wide range
        std::bernoulli_distribution in_pattern(density), explicit_zero(0.1);
        std::vector<double> dense(static_cast<std::size_t>(n * n), 0.0);
        std::vector<bool> stored(dense.size(), false);
        for (std::size_t k = 0; k < dense.size(); ++k) {
            if (!in_pattern(rng)) continue;
            stored[k] = true;
            if (explicit_zero(rng)) continue;
            if (kind == 0) dense[k] = tie_values[rng() % 10];
            else if (kind == 1) dense[k] = std::uniform_real_distribution<double>(-3.0, 3.0)(rng);
            else dense[k] = std::pow(10.0, std::uniform_real_distribution<double>(-150.0, 150.0)(rng));
            if (dense[k] == 0.0) dense[k] = 1.0;
        }
        const TestCsr a = from_dense(n, dense, stored);
        const BruteForce best = brute_force(n, dense);
        if (best.structural_rank < n) {
            ++singular;
            bool thrown = false;
            try {
                run(a);
            } catch (const fpscore::SingularMatrixError& e) {
                thrown = true;
                const std::string count = std::to_string(n - best.structural_rank) + " of the " + std::to_string(n);
                CHECK(message_has(e, count));
            }
            CHECK(thrown);
            continue;
        }
        ++optimal;
        const MatchingScaling m = run(a);
        check_postconditions(a, m);
        const double got = matched_log_product(a, m);
        const double tol = 64.0 * kEps * n * (1.0 + log_range(a));
        if (std::abs(got - best.best_log_product) > tol)
            std::fprintf(stderr, "seed %u: log-product %.17g, brute force %.17g\n", seed, got, best.best_log_product);
        CHECK(std::abs(got - best.best_log_product) <= tol);
    }
    // Both branches were exercised well.
    CHECK(optimal > 600);
    CHECK(singular > 100);
}

void expect_singular(index_t n, const std::vector<double>& dense, int unmatched) {
    const TestCsr a = from_dense(n, dense);
    bool thrown = false;
    try {
        run(a);
    } catch (const fpscore::SingularMatrixError& e) {
        thrown = true;
        CHECK(message_has(e, std::to_string(unmatched) + " of the " + std::to_string(n) + " rows"));
        CHECK(message_has(e, "row "));
    }
    CHECK(thrown);
}

void test_structurally_singular() {
    expect_singular(3, {1, 2, 0, 0, 0, 0, 3, 4, 5}, 1);        // empty row
    expect_singular(3, {1, 0, 2, 3, 0, 4, 5, 0, 6}, 1);        // empty column
    expect_singular(3, {1, 2, 3, 0, 4, 0, 0, 5, 0}, 1);        // rows 1 and 2 hold only column 1
    expect_singular(4, {1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1}, 1);  // 3 rows in 2 columns (Hall)
    expect_singular(4, {1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0}, 2);  // 4 rows in 2 columns
    expect_singular(1, {0}, 1);
    expect_singular(2, {0, 0, 0, 0}, 2);
    // Stored zeros are not edges: a full pattern whose values leave column 0 empty.
    const TestCsr stored_zeros = from_dense(2, {0.0, 1.0, 0.0, 2.0}, std::vector<bool>(4, true));
    CHECK_THROWS(fpscore::SingularMatrixError, run(stored_zeros));
    // Large and singular in one place only: the rest must still be searched in O(nnz log n).
    TestCsr big = random_dominant(3000, 4, 7);
    for (offset_t p = big.indptr[1234]; p < big.indptr[1235]; ++p) big.data[p] = 0.0;
    CHECK_THROWS(fpscore::SingularMatrixError, run(big));
}

void test_bad_input() {
    const TestCsr a = dense_2x2(1.0, 2.0, 3.0, 4.0);
    CHECK_THROWS(std::invalid_argument, max_product_matching(a.view(), a.data.data(), 3));
    CHECK_THROWS(std::invalid_argument, max_product_matching(a.view(), a.data.data(), 5));
    for (const double bad : {std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
        TestCsr b = a;
        b.data[2] = bad;
        CHECK_THROWS(std::invalid_argument, run(b));
    }
    TestCsr duplicate = a;
    duplicate.indices[1] = 0;
    CHECK_THROWS(std::invalid_argument, run(duplicate));
    TestCsr out_of_range = a;
    out_of_range.indices[3] = 2;
    CHECK_THROWS(std::invalid_argument, run(out_of_range));
}

void test_small_cases() {
    const TestCsr empty = from_dense(0, {});
    const MatchingScaling none = run(empty);
    CHECK(none.row_of_column.empty() && none.row_scale.empty() && none.column_scale.empty());

    for (const double x : {-3.0, 1e-300, 7e300, 5e-324}) {
        const TestCsr one = from_dense(1, {x});
        const MatchingScaling m = run(one);
        CHECK(m.row_of_column == std::vector<index_t>{0});
        check_postconditions(one, m);
    }

    const TestCsr swap = from_dense(2, {0.0, 1.0, 1.0, 0.0});
    CHECK(run(swap).row_of_column == (std::vector<index_t>{1, 0}));
    check_postconditions(swap, run(swap));
    const TestCsr swap_stored = from_dense(2, {0.0, 1.0, 1.0, 0.0}, std::vector<bool>(4, true));
    CHECK(run(swap_stored).row_of_column == (std::vector<index_t>{1, 0}));
    check_postconditions(swap_stored, run(swap_stored));

    // [[1, 2], [3, 4]]: the off-diagonal product 6 beats the diagonal's 4.
    const TestCsr full = dense_2x2(1.0, 2.0, 3.0, 4.0);
    CHECK(run(full).row_of_column == (std::vector<index_t>{1, 0}));
    check_postconditions(full, run(full));

    // A permuted identity with scattered magnitudes: the only perfect matching.
    const index_t n = 500;
    std::vector<index_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), std::mt19937(3));
    TestCsr pi;
    pi.n = n;
    pi.indptr.push_back(0);
    std::mt19937 rng(4);
    std::vector<index_t> row_of_column(n);
    for (index_t i = 0; i < n; ++i) {
        pi.indices.push_back(perm[i]);
        pi.data.push_back(std::pow(10.0, std::uniform_real_distribution<double>(-20.0, 20.0)(rng)) * (i % 2 ? -1 : 1));
        pi.indptr.push_back(i + 1);
        row_of_column[perm[i]] = i;
    }
    const MatchingScaling m = run(pi);
    CHECK(m.row_of_column == row_of_column);
    check_postconditions(pi, m);
}

// A random sparse matrix with `per_row` entries a row plus one entry on a hidden random
// permutation (so it is structurally nonsingular), values drawn by `value`.
template <class Value>
TestCsr random_matrix(index_t n, int per_row, unsigned seed, Value value) {
    std::mt19937 rng(seed);
    std::vector<index_t> hidden(n);
    std::iota(hidden.begin(), hidden.end(), 0);
    std::shuffle(hidden.begin(), hidden.end(), rng);
    std::uniform_int_distribution<index_t> col(0, n - 1);
    TestCsr a;
    a.n = n;
    a.indptr.push_back(0);
    for (index_t i = 0; i < n; ++i) {
        std::vector<index_t> cols{hidden[i]};
        while (static_cast<int>(cols.size()) < per_row + 1) cols.push_back(col(rng));
        std::sort(cols.begin(), cols.end());
        cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
        for (const index_t j : cols) {
            a.indices.push_back(j);
            a.data.push_back(value(rng));
        }
        a.indptr.push_back(static_cast<offset_t>(a.indices.size()));
    }
    return a;
}

void test_larger_random() {
    for (unsigned seed = 0; seed < 20; ++seed) {
        const TestCsr a = random_matrix(1000 + 97 * seed, 1 + seed % 6, seed, [](std::mt19937& rng) {
            return std::uniform_real_distribution<double>(-1.0, 1.0)(rng);
        });
        check_postconditions(a, run(a));
        const TestCsr ties = random_matrix(800, 3, 100 + seed, [](std::mt19937& rng) {
            return static_cast<double>(static_cast<int>(rng() % 5) - 2) + 0.5;
        });
        check_postconditions(ties, run(ties));
    }
}

// Entries spanning 1e-150..1e150, and a column that spans the whole double range.
void test_wide_range() {
    for (unsigned seed = 0; seed < 10; ++seed) {
        const TestCsr a = random_matrix(2000, 4, 50 + seed, [](std::mt19937& rng) {
            const double x = std::pow(10.0, std::uniform_real_distribution<double>(-150.0, 150.0)(rng));
            return rng() % 2 ? x : -x;
        });
        check_postconditions(a, run(a));
    }
    const TestCsr extreme = from_dense(3, {1.7e308, 1e-300, 0.0, 4.9e-324, 1e300, 2.0, 0.0, 3e-310, 1e-5});
    const MatchingScaling m = run(extreme);
    check_postconditions(extreme, m);

    // Lower bidiagonal, 1 on the diagonal (the only perfect matching) and 1e150 below it:
    // |B| <= 1 forces row_scale[i+1] <= 1e-150 · row_scale[i]. Three rows need a spread of
    // 1e300, which fits in e^±700; seven need 1e900, which no double scaling has: the scales
    // are then clamped to e^±700, finite and positive.
    for (const index_t n : {3, 7}) {
        std::vector<double> dense(static_cast<std::size_t>(n * n), 0.0);
        for (index_t i = 0; i < n; ++i) dense[i * n + i] = 1.0;
        for (index_t i = 1; i < n; ++i) dense[i * n + i - 1] = 1e150;
        const TestCsr chain = from_dense(n, dense);
        const MatchingScaling c = run(chain);
        std::vector<index_t> identity(static_cast<std::size_t>(n));
        std::iota(identity.begin(), identity.end(), 0);
        CHECK(c.row_of_column == identity);
        if (n == 3) {
            check_postconditions(chain, c);
            continue;
        }
        for (index_t k = 0; k < n; ++k) {
            CHECK(std::isfinite(c.row_scale[k]) && c.row_scale[k] > 0.0);
            CHECK(std::isfinite(c.column_scale[k]) && c.column_scale[k] > 0.0);
            CHECK_LE(std::abs(std::log(c.row_scale[k])), 700.0 * (1.0 + 4.0 * kEps));
            CHECK_LE(std::abs(std::log(c.column_scale[k])), 700.0 * (1.0 + 4.0 * kEps));
        }
    }
}

}  // namespace

int main() {
    test_brute_force();
    test_structurally_singular();
    test_bad_input();
    test_small_cases();
    test_larger_random();
    test_wide_range();
    std::printf("largest deviation seen: %.2f ulps x (1 + log range)\n", worst_seen);
    return check::summary("test_matching");
}
