#include "gateway/observability/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <system_error>
#include <utility>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/memory/memory.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/common/utf8.h"

namespace usergateway {
namespace metrics {
namespace {

// A misuse of the registry (bad name, wrong label count): a bug in the code
// that makes the metrics, not a runtime condition to report.
[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "metrics: %s\n", message.c_str());
  std::abort();
}

uint64_t DoubleBits(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

double BitsDouble(uint64_t bits) {
  double value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

void CheckBounds(const std::vector<double>& bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      Die(absl::StrCat("histogram bound ", i,
                       " is not finite (+Inf is implied)"));
    }
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      Die(absl::StrCat("histogram bounds are not strictly ascending at ", i));
    }
  }
}

bool IsAsciiLetterOrUnderscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(absl::string_view name) {
  if (name.empty() || IsAsciiDigit(name[0])) return false;
  for (char c : name) {
    if (!IsAsciiLetterOrUnderscore(c) && !IsAsciiDigit(c) && c != ':') {
      return false;
    }
  }
  return true;
}

// [a-zA-Z_][a-zA-Z0-9_]*, and not "__..." (reserved by Prometheus).
bool IsValidLabelName(absl::string_view name) {
  if (name.empty() || IsAsciiDigit(name[0])) return false;
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') return false;
  for (char c : name) {
    if (!IsAsciiLetterOrUnderscore(c) && !IsAsciiDigit(c)) return false;
  }
  return true;
}

// The shortest decimal that reads back as `value`, in the layout of Go's
// strconv.FormatFloat(value, 'g', -1, 64), which Prometheus' Go client
// writes: exponent form when the decimal exponent is below -4 or at least
// 6 ("2.5e-05", "1e+06"), plain otherwise ("0.00025", "30", "123456.5").
// Matching it keeps `le` values equal to other exporters' for the same
// bound.
std::string FormatDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  const std::to_chars_result scientific = std::to_chars(
      buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  const absl::string_view text(buffer, scientific.ptr - buffer);
  int exponent = 0;
  const size_t e = text.find('e');
  if (e == absl::string_view::npos ||
      !absl::SimpleAtoi(text.substr(e + 1), &exponent)) {
    Die(absl::StrCat("cannot format ", text));  // to_chars always writes e
  }
  if (exponent < -4 || exponent >= 6) return std::string(text);
  const std::to_chars_result fixed = std::to_chars(
      buffer, buffer + sizeof(buffer), value, std::chars_format::fixed);
  return std::string(buffer, fixed.ptr - buffer);
}

// Appends `text` with `\` and newline escaped, and `"` too when `quote`
// (label values; help text keeps its quotes). Bytes that are not UTF-8
// become U+FFFD: Prometheus refuses a scrape with invalid UTF-8.
void AppendEscaped(absl::string_view text, bool quote, std::string* out) {
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      char32_t code_point = 0;
      const size_t length = DecodeUtf8(text, i, &code_point);
      if (length == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else {
        out->append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && quote) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
    ++i;
  }
}

// `{a="x",b="y"}`, plus le="..." last when `le` is given; nothing when there
// is no label at all.
void AppendLabels(const std::vector<std::string>& names,
                  const std::vector<std::string>& values,
                  const std::string* le, std::string* out) {
  if (names.empty() && le == nullptr) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    absl::StrAppend(out, names[i], "=\"");
    AppendEscaped(values[i], /*quote=*/true, out);
    out->push_back('"');
  }
  if (le != nullptr) {
    absl::StrAppend(out, names.empty() ? "" : ",", "le=\"", *le, "\"");
  }
  out->push_back('}');
}

void AppendHeader(absl::string_view name, absl::string_view help,
                  absl::string_view type, std::string* out) {
  absl::StrAppend(out, "# HELP ", name, " ");
  AppendEscaped(help, /*quote=*/false, out);
  absl::StrAppend(out, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

namespace internal {

void DieWrongLabelCount(absl::string_view family, size_t want, size_t got) {
  Die(absl::StrCat("family ", family, " has ", want, " label name(s), got ",
                   got, " label value(s)"));
}

}  // namespace internal

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      // Value-initialized: every bucket starts at zero.
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  CheckBounds(bounds_);
}

void Histogram::Observe(double value) {
  // The first bound b with value <= b. Written as "not (value <= b)" rather
  // than "b < value" so that NaN, which compares false with everything,
  // lands in +Inf instead of the first bucket.
  const size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value,
                       [](double bound, double v) { return !(v <= bound); }) -
      bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  uint64_t old_bits = sum_bits_.load(std::memory_order_relaxed);
  while (!sum_bits_.compare_exchange_weak(
      old_bits, DoubleBits(BitsDouble(old_bits) + value),
      std::memory_order_relaxed, std::memory_order_relaxed)) {
  }
  count_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Histogram::BucketCount(size_t i) const {
  return buckets_[i].load(std::memory_order_relaxed);
}

uint64_t Histogram::Count() const {
  return count_.load(std::memory_order_relaxed);
}

double Histogram::Sum() const {
  return BitsDouble(sum_bits_.load(std::memory_order_relaxed));
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,     0.25,   0.5,   1,      2.5,   5,     10,    30};
}

struct Registry::Impl {
  using AnyFamily =
      std::variant<std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
                   std::unique_ptr<HistogramFamily>>;

  // Checks a new family's names (see AddCounter) and reserves the sample
  // names it writes; aborts on a bug.
  void Reserve(const std::string& name,
               const std::vector<std::string>& label_names, bool histogram)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!IsValidMetricName(name)) {
      Die(absl::StrCat("invalid metric name \"", name, "\""));
    }
    absl::flat_hash_set<absl::string_view> seen;
    for (const std::string& label : label_names) {
      if (!IsValidLabelName(label)) {
        Die(absl::StrCat("invalid label name \"", label, "\" in ", name));
      }
      if (histogram && label == "le") {
        Die(absl::StrCat("histogram ", name, " cannot have label \"le\""));
      }
      if (!seen.insert(label).second) {
        Die(absl::StrCat("label name \"", label, "\" repeated in ", name));
      }
    }
    std::vector<std::string> samples = {name};
    if (histogram) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        samples.push_back(absl::StrCat(name, suffix));
      }
    }
    for (const std::string& sample : samples) {
      if (sample_names.contains(sample)) {
        Die(absl::StrCat("metric name \"", sample,
                         "\" is already used (by a family, or a histogram's "
                         "samples), adding ",
                         name));
      }
    }
    sample_names.insert(samples.begin(), samples.end());
  }

  // std::shared_mutex rather than absl::Mutex, for ThreadSanitizer (see
  // metrics_family.h).
  mutable std::shared_mutex mu;
  std::vector<AnyFamily> families ABSL_GUARDED_BY(mu);
  absl::flat_hash_set<std::string> sample_names ABSL_GUARDED_BY(mu);
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}

Registry::~Registry() = default;

CounterFamily& Registry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names) {
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  impl_->Reserve(name, label_names, /*histogram=*/false);
  auto family = absl::WrapUnique(new CounterFamily(
      std::move(name), std::move(help), std::move(label_names), {}));
  CounterFamily& result = *family;
  impl_->families.push_back(std::move(family));
  return result;
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help,
                                std::vector<std::string> label_names) {
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  impl_->Reserve(name, label_names, /*histogram=*/false);
  auto family = absl::WrapUnique(new GaugeFamily(
      std::move(name), std::move(help), std::move(label_names), {}));
  GaugeFamily& result = *family;
  impl_->families.push_back(std::move(family));
  return result;
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds) {
  CheckBounds(bounds);
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  impl_->Reserve(name, label_names, /*histogram=*/true);
  auto family = absl::WrapUnique(
      new HistogramFamily(std::move(name), std::move(help),
                          std::move(label_names), std::move(bounds)));
  HistogramFamily& result = *family;
  impl_->families.push_back(std::move(family));
  return result;
}

std::string Registry::Expose() const {
  std::string out;
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  for (const Impl::AnyFamily& any : impl_->families) {
    if (const auto* counters =
            std::get_if<std::unique_ptr<CounterFamily>>(&any)) {
      const CounterFamily& family = **counters;
      AppendHeader(family.name(), family.help(), "counter", &out);
      family.ForEachChild([&](const std::vector<std::string>& values,
                              const Counter& counter) {
        out.append(family.name());
        AppendLabels(family.label_names(), values, nullptr, &out);
        absl::StrAppend(&out, " ", counter.Value(), "\n");
      });
    } else if (const auto* gauges =
                   std::get_if<std::unique_ptr<GaugeFamily>>(&any)) {
      const GaugeFamily& family = **gauges;
      AppendHeader(family.name(), family.help(), "gauge", &out);
      family.ForEachChild([&](const std::vector<std::string>& values,
                              const Gauge& gauge) {
        out.append(family.name());
        AppendLabels(family.label_names(), values, nullptr, &out);
        absl::StrAppend(&out, " ", gauge.Value(), "\n");
      });
    } else {
      const HistogramFamily& family =
          *std::get<std::unique_ptr<HistogramFamily>>(any);
      AppendHeader(family.name(), family.help(), "histogram", &out);
      std::vector<std::string> les;
      les.reserve(family.bounds_.size() + 1);
      for (double bound : family.bounds_) les.push_back(FormatDouble(bound));
      les.push_back("+Inf");
      const std::string bucket_name = absl::StrCat(family.name(), "_bucket");
      family.ForEachChild([&](const std::vector<std::string>& values,
                              const Histogram& histogram) {
        // Each bucket is read once; the count written is their total, so
        // that +Inf equals _count even while Observe runs.
        uint64_t cumulative = 0;
        for (size_t i = 0; i < les.size(); ++i) {
          cumulative += histogram.BucketCount(i);
          out.append(bucket_name);
          AppendLabels(family.label_names(), values, &les[i], &out);
          absl::StrAppend(&out, " ", cumulative, "\n");
        }
        absl::StrAppend(&out, family.name(), "_sum");
        AppendLabels(family.label_names(), values, nullptr, &out);
        absl::StrAppend(&out, " ", FormatDouble(histogram.Sum()), "\n");
        absl::StrAppend(&out, family.name(), "_count");
        AppendLabels(family.label_names(), values, nullptr, &out);
        absl::StrAppend(&out, " ", cumulative, "\n");
      });
    }
  }
  return out;
}

}  // namespace metrics
}  // namespace usergateway
