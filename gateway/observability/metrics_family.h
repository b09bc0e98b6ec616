// Family<T>: one metric family of a Registry (see metrics.h, which includes
// this header; include metrics.h rather than this one).
//
// A family has a name, help text and a fixed list of label names; its
// children (one T per distinct list of label values) are created on first
// Get and never removed, so a reference from Get stays valid for the
// registry's life. Families are made by Registry::AddCounter, AddGauge and
// AddHistogram only, and owned by the registry.
//
// Thread-safe: Get takes a reader lock to find an existing child and a
// writer lock only to create one; resolve children once and keep the
// reference on hot paths. The lock is a std::shared_mutex rather than an
// absl::Mutex: the system's abseil is not built with ThreadSanitizer, which
// cannot see absl::Mutex's ordering and reports false races between a
// scrape and a new child; pthread locks it intercepts.
#ifndef USERGATEWAY_GATEWAY_OBSERVABILITY_METRICS_FAMILY_H_
#define USERGATEWAY_GATEWAY_OBSERVABILITY_METRICS_FAMILY_H_

#include <cstddef>
#include <initializer_list>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gateway/observability/metrics.h"

namespace usergateway {
namespace metrics {
namespace internal {

// Aborts the process: `got` label values were given to a family with
// `want` label names (a bug in the caller).
[[noreturn]] void DieWrongLabelCount(absl::string_view family, size_t want,
                                     size_t got);

// Hash and equality for the children's keys (std::vector<std::string>) that
// also take spans of std::string or absl::string_view, so that a lookup
// copies nothing. Both see a list as its sequence of string_views.
template <typename List>
struct LabelValuesView {
  const List& values;

  template <typename H>
  friend H AbslHashValue(H h, const LabelValuesView& view) {
    for (const auto& value : view.values) {
      h = H::combine(std::move(h), absl::string_view(value));
    }
    return H::combine(std::move(h), view.values.size());
  }
};

struct LabelValuesHash {
  using is_transparent = void;
  template <typename List>
  size_t operator()(const List& values) const {
    return absl::Hash<LabelValuesView<List>>{}(LabelValuesView<List>{values});
  }
};

struct LabelValuesEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (absl::string_view(a[i]) != absl::string_view(b[i])) return false;
    }
    return true;
  }
};

}  // namespace internal

template <typename T>
class Family {
 public:
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for `label_values` (exactly one per label name, in the order
  // of the label names; another count is a bug: the process aborts with a
  // message), created on first use; the reference stays valid for the
  // registry's life.
  T& Get(std::initializer_list<absl::string_view> label_values) {
    return GetChild(
        absl::MakeConstSpan(label_values.begin(), label_values.size()));
  }
  T& Get(absl::Span<const std::string> label_values) {
    return GetChild(label_values);
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  friend class Registry;

  using Key = std::vector<std::string>;
  using Map = absl::node_hash_map<Key, T, internal::LabelValuesHash,
                                  internal::LabelValuesEq>;

  // `bounds` is used by histogram families only (each child's bounds).
  Family(std::string name, std::string help,
         std::vector<std::string> label_names, std::vector<double> bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  template <typename Value>
  T& GetChild(absl::Span<const Value> label_values) ABSL_LOCKS_EXCLUDED(mu_) {
    if (label_values.size() != label_names_.size()) {
      internal::DieWrongLabelCount(name_, label_names_.size(),
                                   label_values.size());
    }
    {
      std::shared_lock<std::shared_mutex> lock(mu_);
      auto it = children_.find(label_values);
      if (it != children_.end()) return it->second;
    }
    std::unique_lock<std::shared_mutex> lock(mu_);
    Key key(label_values.begin(), label_values.end());
    std::pair<typename Map::iterator, bool> result;
    if constexpr (std::is_same<T, Histogram>::value) {
      result = children_.try_emplace(std::move(key), bounds_);
    } else {
      result = children_.try_emplace(std::move(key));
    }
    // Another thread may have created it between the two locks.
    if (result.second) order_.push_back(&*result.first);
    return result.first->second;
  }

  // Calls fn(label_values, child) for each child in creation order, holding
  // the reader lock (so Get for a new child waits until it returns).
  template <typename Fn>
  void ForEachChild(Fn fn) const ABSL_LOCKS_EXCLUDED(mu_) {
    std::shared_lock<std::shared_mutex> lock(mu_);
    for (const typename Map::value_type* child : order_) {
      fn(child->first, child->second);
    }
  }

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;

  mutable std::shared_mutex mu_;
  // Node-based, so that children never move: references handed out and the
  // pointers in order_ stay valid as the map grows.
  Map children_ ABSL_GUARDED_BY(mu_);
  std::vector<const typename Map::value_type*> order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace metrics
}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_OBSERVABILITY_METRICS_FAMILY_H_
