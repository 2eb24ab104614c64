// Multiple minimum degree (after Liu, 1985) on an explicit elimination graph.
//
// Eliminating v joins its neighbours into a clique. Three refinements over plain greedy
// minimum degree, each of which lowers the fill on grids:
// - nodes with the same closed neighbourhood are indistinguishable: they are merged into
//   one supervariable and eliminated together (mass elimination);
// - degrees are external: a supervariable's own members do not count;
// - each pass eliminates an independent set of nodes of least degree (multiple
//   elimination) before degrees are updated, which keeps the ordering from chasing one
//   corner of a grid.
// Ties go to the lowest index, so the ordering is deterministic.
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <numeric>
#include <unordered_map>
#include <utility>

#include "sparse/ordering/orderings.hpp"

namespace fpscore {
namespace {

class MultipleMinimumDegree {
public:
    explicit MultipleMinimumDegree(const Graph& g)
        : n_(g.n), adj_(static_cast<size_t>(g.n)), weight_(static_cast<size_t>(g.n), 1),
          members_(static_cast<size_t>(g.n)), alive_(static_cast<size_t>(g.n), true),
          degree_(static_cast<size_t>(g.n)), mark_(static_cast<size_t>(g.n), 0) {
        for (index_t v = 0; v < n_; ++v) {
            adj_[v].assign(g.adj.begin() + g.ptr[v], g.adj.begin() + g.ptr[v + 1]);
            members_[v] = {v};
            degree_[v] = static_cast<index_t>(adj_[v].size());
        }
    }

    std::vector<index_t> run() {
        std::vector<index_t> perm;
        perm.reserve(static_cast<size_t>(n_));
        std::vector<index_t> alive_nodes(static_cast<size_t>(n_));
        std::iota(alive_nodes.begin(), alive_nodes.end(), 0);
        std::vector<index_t> touched;
        while (!alive_nodes.empty()) {
            index_t least = n_ + 1;
            for (const index_t v : alive_nodes) least = std::min(least, degree_[v]);
            // An independent set of least-degree nodes: a chosen node's neighbours wait.
            ++stamp_;
            touched.clear();
            for (const index_t v : alive_nodes) {
                if (degree_[v] != least || mark_[v] == stamp_) continue;
                mark_[v] = stamp_;
                for (const index_t u : adj_[v])
                    if (mark_[u] != stamp_) {
                        mark_[u] = stamp_;
                        touched.push_back(u);
                    }
                eliminate(v, perm);
            }
            alive_nodes.erase(std::remove_if(alive_nodes.begin(), alive_nodes.end(),
                                             [&](index_t v) { return !alive_[v]; }),
                              alive_nodes.end());
            merge_indistinguishable(touched);
            alive_nodes.erase(std::remove_if(alive_nodes.begin(), alive_nodes.end(),
                                             [&](index_t v) { return !alive_[v]; }),
                              alive_nodes.end());
            for (const index_t u : touched)
                if (alive_[u]) degree_[u] = external_degree(u);
        }
        return perm;
    }

private:
    void eliminate(index_t v, std::vector<index_t>& perm) {
        perm.insert(perm.end(), members_[v].begin(), members_[v].end());
        alive_[v] = false;
        const std::vector<index_t> clique = std::move(adj_[v]);
        adj_[v].clear();
        for (const index_t u : clique) {
            merged_.clear();
            std::set_union(adj_[u].begin(), adj_[u].end(), clique.begin(), clique.end(), std::back_inserter(merged_));
            merged_.erase(std::remove_if(merged_.begin(), merged_.end(), [&](index_t w) { return w == u || w == v; }),
                          merged_.end());
            adj_[u].swap(merged_);
        }
    }

    index_t external_degree(index_t u) const {
        index_t d = 0;
        for (const index_t w : adj_[u]) d += weight_[w];
        return d;
    }

    // Among the touched nodes, those with equal closed neighbourhoods become one
    // supervariable (the lowest index keeps it).
    void merge_indistinguishable(std::vector<index_t>& touched) {
        std::sort(touched.begin(), touched.end());
        std::unordered_map<std::uint64_t, std::vector<index_t>> by_hash;
        for (const index_t u : touched) {
            if (!alive_[u]) continue;
            std::uint64_t h = static_cast<std::uint64_t>(u) + adj_[u].size() * 0x9e3779b97f4a7c15ull;
            for (const index_t w : adj_[u]) h += static_cast<std::uint64_t>(w);
            auto& bucket = by_hash[h];
            bool merged = false;
            for (const index_t r : bucket)
                if (same_closed_neighbourhood(r, u)) {
                    absorb(r, u);
                    merged = true;
                    break;
                }
            if (!merged) bucket.push_back(u);
        }
    }

    bool same_closed_neighbourhood(index_t a, index_t b) const {
        if (adj_[a].size() != adj_[b].size()) return false;
        if (!std::binary_search(adj_[a].begin(), adj_[a].end(), b)) return false;
        // adj(a) ∪ {a} == adj(b) ∪ {b}: equal once each drops the other.
        auto ia = adj_[a].begin(), ib = adj_[b].begin();
        while (ia != adj_[a].end() || ib != adj_[b].end()) {
            if (ia != adj_[a].end() && *ia == b) { ++ia; continue; }
            if (ib != adj_[b].end() && *ib == a) { ++ib; continue; }
            if (ia == adj_[a].end() || ib == adj_[b].end() || *ia != *ib) return false;
            ++ia, ++ib;
        }
        return true;
    }

    // Supervariable b joins a: b's members follow a's, b leaves every adjacency list.
    void absorb(index_t a, index_t b) {
        weight_[a] += weight_[b];
        members_[a].insert(members_[a].end(), members_[b].begin(), members_[b].end());
        members_[b].clear();
        alive_[b] = false;
        for (const index_t w : adj_[b]) {
            auto& aw = adj_[w];
            aw.erase(std::lower_bound(aw.begin(), aw.end(), b));
        }
        adj_[b].clear();
    }

    index_t n_;
    std::vector<std::vector<index_t>> adj_;  // neighbouring supervariables, ascending
    std::vector<index_t> weight_;            // nodes in each supervariable
    std::vector<std::vector<index_t>> members_;
    std::vector<bool> alive_;
    std::vector<index_t> degree_;            // external degree
    std::vector<int> mark_;
    int stamp_ = 0;
    std::vector<index_t> merged_;
};

}  // namespace

std::vector<index_t> minimum_degree_order(const Graph& g) { return MultipleMinimumDegree(g).run(); }

}  // namespace fpscore
