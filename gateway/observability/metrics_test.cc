#include "gateway/observability/metrics.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// --- Exposition: golden text -------------------------------------------------

struct ExposeCase {
  std::string name;
  std::function<void(Registry&)> build;
  std::string want;
};

std::ostream& operator<<(std::ostream& os, const ExposeCase& c) {
  return os << c.name;
}

std::vector<ExposeCase> ExposeCases() {
  return {
      {"CounterWithoutLabels",
       [](Registry& r) {
         r.AddCounter("requests_total", "Requests.", {}).Get({}).Inc(3);
       },
       "# HELP requests_total Requests.\n"
       "# TYPE requests_total counter\n"
       "requests_total 3\n"},
      {"CounterChildrenInCreationOrder",
       [](Registry& r) {
         CounterFamily& f = r.AddCounter("calls_total", "Calls.",
                                         {"code", "reason"});
         f.Get({"UNAVAILABLE", "UPSTREAM_DOWN"}).Inc(2);
         f.Get({"OK", ""}).Inc();
         f.Get({"ABORTED", "x"});
         f.Get({"UNAVAILABLE", "UPSTREAM_DOWN"}).Inc();
       },
       "# HELP calls_total Calls.\n"
       "# TYPE calls_total counter\n"
       "calls_total{code=\"UNAVAILABLE\",reason=\"UPSTREAM_DOWN\"} 3\n"
       "calls_total{code=\"OK\",reason=\"\"} 1\n"
       "calls_total{code=\"ABORTED\",reason=\"x\"} 0\n"},
      {"CounterLargestValueIsAnInteger",
       [](Registry& r) {
         r.AddCounter("big_total", "Big.", {})
             .Get({})
             .Inc(std::numeric_limits<uint64_t>::max());
       },
       "# HELP big_total Big.\n"
       "# TYPE big_total counter\n"
       "big_total 18446744073709551615\n"},
      {"LabelValuesEscaped",
       [](Registry& r) {
         r.AddCounter("escapes_total", "Escapes.", {"v"})
             .Get({"back\\slash \"quoted\"\nnext"});
       },
       "# HELP escapes_total Escapes.\n"
       "# TYPE escapes_total counter\n"
       "escapes_total{v=\"back\\\\slash \\\"quoted\\\"\\nnext\"} 0\n"},
      {"LabelValuesUtf8KeptInvalidBytesReplaced",
       [](Registry& r) {
         CounterFamily& f = r.AddCounter("utf8_total", "UTF-8.", {"v"});
         f.Get({"Gr\xC3\xBC\xC3\x9F" "e \xE2\x82\xAC"});
         f.Get({"bad \xFF end \xC3"});
       },
       "# HELP utf8_total UTF-8.\n"
       "# TYPE utf8_total counter\n"
       "utf8_total{v=\"Gr\xC3\xBC\xC3\x9F" "e \xE2\x82\xAC\"} 0\n"
       "utf8_total{v=\"bad \xEF\xBF\xBD end \xEF\xBF\xBD\"} 0\n"},
      {"HelpEscapesBackslashAndNewlineOnly",
       [](Registry& r) {
         r.AddGauge("help_gauge", "A \\ b \"c\"\nd \xFF", {});
       },
       "# HELP help_gauge A \\\\ b \"c\"\\nd \xEF\xBF\xBD\n"
       "# TYPE help_gauge gauge\n"},
      {"EmptyFamiliesHaveHelpAndTypeOnly",
       [](Registry& r) {
         r.AddCounter("none_total", "No children.", {"a"});
         r.AddGauge("none_gauge", "", {});
         r.AddHistogram("none_seconds", "No children.", {"a"}, {1});
       },
       "# HELP none_total No children.\n"
       "# TYPE none_total counter\n"
       "# HELP none_gauge \n"
       "# TYPE none_gauge gauge\n"
       "# HELP none_seconds No children.\n"
       "# TYPE none_seconds histogram\n"},
      {"GaugeNegativeAndExtremes",
       [](Registry& r) {
         GaugeFamily& f = r.AddGauge("in_flight", "In flight.", {"loop"});
         f.Get({"0"}).Set(7);
         f.Get({"0"}).Add(-9);
         f.Get({"1"}).Set(std::numeric_limits<int64_t>::min());
         f.Get({"2"}).Set(std::numeric_limits<int64_t>::max());
       },
       "# HELP in_flight In flight.\n"
       "# TYPE in_flight gauge\n"
       "in_flight{loop=\"0\"} -2\n"
       "in_flight{loop=\"1\"} -9223372036854775808\n"
       "in_flight{loop=\"2\"} 9223372036854775807\n"},
      {"HistogramCumulativeBucketsSumCount",
       [](Registry& r) {
         HistogramFamily& f =
             r.AddHistogram("size_bytes", "Sizes.", {"kind"}, {0.5, 1});
         Histogram& h = f.Get({"a\"b"});
         for (double v : {0.25, 0.5, 1.0, 2.0}) h.Observe(v);
         f.Get({"empty"});
       },
       "# HELP size_bytes Sizes.\n"
       "# TYPE size_bytes histogram\n"
       "size_bytes_bucket{kind=\"a\\\"b\",le=\"0.5\"} 2\n"
       "size_bytes_bucket{kind=\"a\\\"b\",le=\"1\"} 3\n"
       "size_bytes_bucket{kind=\"a\\\"b\",le=\"+Inf\"} 4\n"
       "size_bytes_sum{kind=\"a\\\"b\"} 3.75\n"
       "size_bytes_count{kind=\"a\\\"b\"} 4\n"
       "size_bytes_bucket{kind=\"empty\",le=\"0.5\"} 0\n"
       "size_bytes_bucket{kind=\"empty\",le=\"1\"} 0\n"
       "size_bytes_bucket{kind=\"empty\",le=\"+Inf\"} 0\n"
       "size_bytes_sum{kind=\"empty\"} 0\n"
       "size_bytes_count{kind=\"empty\"} 0\n"},
      {"HistogramDefaultBucketsWithoutLabels",
       [](Registry& r) {
         Histogram& h = r.AddHistogram("call_duration_seconds", "Latency.",
                                       {}, DefaultLatencyBuckets())
                            .Get({});
         h.Observe(0.00025);  // on the first bound: le="0.00025"
         h.Observe(0.003);
         h.Observe(30);
         h.Observe(31);
       },
       "# HELP call_duration_seconds Latency.\n"
       "# TYPE call_duration_seconds histogram\n"
       "call_duration_seconds_bucket{le=\"0.00025\"} 1\n"
       "call_duration_seconds_bucket{le=\"0.0005\"} 1\n"
       "call_duration_seconds_bucket{le=\"0.001\"} 1\n"
       "call_duration_seconds_bucket{le=\"0.0025\"} 1\n"
       "call_duration_seconds_bucket{le=\"0.005\"} 2\n"
       "call_duration_seconds_bucket{le=\"0.01\"} 2\n"
       "call_duration_seconds_bucket{le=\"0.025\"} 2\n"
       "call_duration_seconds_bucket{le=\"0.05\"} 2\n"
       "call_duration_seconds_bucket{le=\"0.1\"} 2\n"
       "call_duration_seconds_bucket{le=\"0.25\"} 2\n"
       "call_duration_seconds_bucket{le=\"0.5\"} 2\n"
       "call_duration_seconds_bucket{le=\"1\"} 2\n"
       "call_duration_seconds_bucket{le=\"2.5\"} 2\n"
       "call_duration_seconds_bucket{le=\"5\"} 2\n"
       "call_duration_seconds_bucket{le=\"10\"} 2\n"
       "call_duration_seconds_bucket{le=\"30\"} 3\n"
       "call_duration_seconds_bucket{le=\"+Inf\"} 4\n"
       "call_duration_seconds_sum 61.00325\n"
       "call_duration_seconds_count 4\n"},
      {"HistogramWithoutBoundsHasInfOnly",
       [](Registry& r) {
         r.AddHistogram("only_inf", "Only +Inf.", {}, {}).Get({}).Observe(-1);
       },
       "# HELP only_inf Only +Inf.\n"
       "# TYPE only_inf histogram\n"
       "only_inf_bucket{le=\"+Inf\"} 1\n"
       "only_inf_sum -1\n"
       "only_inf_count 1\n"},
      {"FamiliesInOrderAdded",
       [](Registry& r) {
         r.AddGauge("b_gauge", "B.", {}).Get({}).Set(1);
         r.AddCounter("a_total", "A.", {}).Get({}).Inc();
       },
       "# HELP b_gauge B.\n"
       "# TYPE b_gauge gauge\n"
       "b_gauge 1\n"
       "# HELP a_total A.\n"
       "# TYPE a_total counter\n"
       "a_total 1\n"},
      {"EmptyRegistry", [](Registry&) {}, ""},
  };
}

class ExposeTest : public ::testing::TestWithParam<ExposeCase> {};

TEST_P(ExposeTest, WritesExactly) {
  Registry registry;
  GetParam().build(registry);
  EXPECT_EQ(registry.Expose(), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(Table, ExposeTest, ::testing::ValuesIn(ExposeCases()),
                         [](const ::testing::TestParamInfo<ExposeCase>& info) {
                           return info.param.name;
                         });

// --- Float formatting (bounds and sums) --------------------------------------

struct FloatCase {
  std::string name;
  double value;
  std::string want;
};

std::ostream& operator<<(std::ostream& os, const FloatCase& c) {
  return os << c.name;
}

// Go's strconv.FormatFloat(v, 'g', -1, 64) gives each `want`.
std::vector<FloatCase> FloatCases() {
  return {
      {"Quarter_ms", 0.00025, "0.00025"},
      {"Thirty", 30, "30"},
      {"Zero", 0, "0"},
      {"One", 1, "1"},
      {"Tenth", 0.1, "0.1"},
      {"PlainDownToExponentMinus4", 0.0001, "0.0001"},
      {"ExponentBelowMinus4", 0.000025, "2.5e-05"},
      {"PlainUpToExponent5", 123456.5, "123456.5"},
      {"ExponentFrom6", 1e6, "1e+06"},
      {"ExponentFrom6WithDigits", 1234567, "1.234567e+06"},
      {"LargeExponent", 1e300, "1e+300"},
      {"SmallestSubnormal", 5e-324, "5e-324"},
      {"Negative", -2.5, "-2.5"},
      {"ShortestRoundTrip", 0.1 + 0.2, "0.30000000000000004"},
      {"AllDigits", 1.0 / 3, "0.3333333333333333"},
  };
}

class FloatFormatTest : public ::testing::TestWithParam<FloatCase> {};

TEST_P(FloatFormatTest, BoundAndSumAreShortestRoundTrip) {
  const FloatCase& c = GetParam();
  Registry registry;
  registry.AddHistogram("h", "H.", {}, {c.value}).Get({}).Observe(c.value);
  const std::string text = registry.Expose();
  EXPECT_THAT(text, HasSubstr(absl::StrCat("h_bucket{le=\"", c.want,
                                           "\"} 1\n")));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("\nh_sum ", c.want, "\n")));
  double parsed = 0;
  ASSERT_TRUE(absl::SimpleAtod(c.want, &parsed));
  EXPECT_EQ(parsed, c.value);
}

INSTANTIATE_TEST_SUITE_P(Table, FloatFormatTest,
                         ::testing::ValuesIn(FloatCases()),
                         [](const ::testing::TestParamInfo<FloatCase>& info) {
                           return info.param.name;
                         });

TEST(FloatFormatTest, SumSpecialValues) {
  struct Case {
    std::vector<double> observed;
    std::string want_sum;
  };
  const double kInf = std::numeric_limits<double>::infinity();
  const Case cases[] = {
      {{kInf}, "+Inf"},
      {{-kInf}, "-Inf"},
      {{std::nan("")}, "NaN"},
      {{kInf, -kInf}, "NaN"},
  };
  for (const Case& c : cases) {
    Registry registry;
    Histogram& h = registry.AddHistogram("h", "H.", {}, {1}).Get({});
    for (double v : c.observed) h.Observe(v);
    EXPECT_THAT(registry.Expose(),
                HasSubstr(absl::StrCat("\nh_sum ", c.want_sum, "\n")))
        << c.want_sum;
  }
}

// --- Histogram buckets -------------------------------------------------------

TEST(HistogramTest, DefaultLatencyBuckets) {
  EXPECT_THAT(DefaultLatencyBuckets(),
              ElementsAre(0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                          0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30));
}

struct BucketCase {
  double value;
  size_t want_bucket;  // 3 is +Inf
};

TEST(HistogramTest, ValueGoesIntoFirstBucketWhoseBoundIsNotBelowIt) {
  const double kInf = std::numeric_limits<double>::infinity();
  const BucketCase cases[] = {
      {-kInf, 0},
      {-1, 0},
      {0.5, 0},
      {1, 0},  // equal to a bound: that bound's bucket (le means <=)
      {std::nextafter(1.0, 2.0), 1},
      {2, 1},
      {std::nextafter(4.0, 0.0), 2},
      {4, 2},
      {std::nextafter(4.0, 5.0), 3},
      {1e300, 3},
      {kInf, 3},
      {std::nan(""), 3},
  };
  for (const BucketCase& c : cases) {
    Histogram h({1, 2, 4});
    h.Observe(c.value);
    std::vector<uint64_t> want(4, 0);
    want[c.want_bucket] = 1;
    std::vector<uint64_t> got;
    for (size_t i = 0; i < 4; ++i) got.push_back(h.BucketCount(i));
    EXPECT_THAT(got, ElementsAreArray(want)) << "value " << c.value;
    EXPECT_EQ(h.Count(), 1u);
  }
}

TEST(HistogramTest, SumAndCount) {
  Histogram h({1});
  EXPECT_EQ(h.Count(), 0u);
  EXPECT_EQ(h.Sum(), 0.0);
  h.Observe(0.25);
  h.Observe(3);
  EXPECT_EQ(h.Count(), 2u);
  EXPECT_EQ(h.Sum(), 3.25);
  EXPECT_THAT(h.bounds(), ElementsAre(1));
}

TEST(HistogramTest, FamilyChildrenGetTheFamilyBounds) {
  Registry registry;
  HistogramFamily& f = registry.AddHistogram("h", "H.", {"a"}, {0.1, 0.2});
  EXPECT_THAT(f.Get({"x"}).bounds(), ElementsAre(0.1, 0.2));
  EXPECT_THAT(f.Get({"y"}).bounds(), ElementsAre(0.1, 0.2));
}

// --- Family lookup -----------------------------------------------------------

TEST(FamilyTest, SameLabelValuesSameChild) {
  Registry registry;
  CounterFamily& f = registry.AddCounter("c_total", "C.", {"a", "b"});
  Counter& first = f.Get({"x", "y"});
  const std::vector<std::string> same = {"x", "y"};
  EXPECT_EQ(&f.Get(same), &first);
  EXPECT_EQ(&f.Get({"x", "y"}), &first);
  // The tuple is the key, not the concatenation.
  EXPECT_NE(&f.Get({"xy", ""}), &first);
  EXPECT_NE(&f.Get({"", "xy"}), &first);
  EXPECT_NE(&f.Get({"y", "x"}), &first);
}

TEST(FamilyTest, ReferencesStayValidAsChildrenAreAdded) {
  Registry registry;
  GaugeFamily& f = registry.AddGauge("g", "G.", {"i"});
  Gauge& first = f.Get({"first"});
  first.Set(42);
  for (int i = 0; i < 1000; ++i) f.Get({absl::StrCat(i)}).Set(i);
  EXPECT_EQ(&f.Get({"first"}), &first);
  EXPECT_EQ(first.Value(), 42);
  EXPECT_EQ(f.name(), "g");
  EXPECT_EQ(f.help(), "G.");
  EXPECT_THAT(f.label_names(), ElementsAre("i"));
}

TEST(RegistryTest, ValidNamesAreAccepted) {
  Registry registry;
  registry.AddCounter("a:b_c:total", "", {"_x", "Y9", "le"});
  registry.AddGauge("_g", "", {"a_"});
  registry.AddHistogram("Hist:x", "", {"quantile"}, {});
  // A histogram's own suffixes are free for names that do not collide.
  registry.AddCounter("Hist:x_bucket_total", "", {});
  EXPECT_THAT(registry.Expose(), HasSubstr("# TYPE Hist:x histogram\n"));
}

// --- Concurrency -------------------------------------------------------------

// Parses "name{...} value" lines into (name+labels, value) pairs.
std::vector<std::pair<std::string, std::string>> Samples(
    absl::string_view text) {
  std::vector<std::pair<std::string, std::string>> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    const size_t space = line.rfind(' ');
    samples.emplace_back(std::string(line.substr(0, space)),
                         std::string(line.substr(space + 1)));
  }
  return samples;
}

TEST(ConcurrencyTest, UpdatesAreExactAndEveryScrapeIsConsistent) {
  constexpr int kThreads = 4;
  constexpr int kIterations = 20000;
  Registry registry;
  CounterFamily& counters = registry.AddCounter("c_total", "C.", {"t"});
  GaugeFamily& gauges = registry.AddGauge("g", "G.", {});
  HistogramFamily& histograms =
      registry.AddHistogram("h_seconds", "H.", {"t"}, {0.5, 1});

  absl::Notification done;
  int scrapes = 0;
  std::vector<std::string> failures;
  std::thread scraper([&] {
    uint64_t last_total = 0;
    while (!done.HasBeenNotified() || scrapes == 0) {
      const std::string text = registry.Expose();
      ++scrapes;
      uint64_t total = 0;
      uint64_t previous_bucket = 0;
      uint64_t inf = 0;
      for (const auto& [series, value] : Samples(text)) {
        uint64_t n = 0;
        if (absl::StartsWith(series, "c_total{")) {
          if (!absl::SimpleAtoi(value, &n)) failures.push_back(value);
          total += n;
        } else if (absl::StartsWith(series, "h_seconds_bucket{")) {
          if (!absl::SimpleAtoi(value, &n)) failures.push_back(value);
          if (absl::StrContains(series, "le=\"0.5\"")) previous_bucket = 0;
          if (n < previous_bucket) failures.push_back("not cumulative");
          previous_bucket = n;
          if (absl::StrContains(series, "le=\"+Inf\"")) inf = n;
        } else if (absl::StartsWith(series, "h_seconds_count{")) {
          if (!absl::SimpleAtoi(value, &n) || n != inf) {
            failures.push_back(absl::StrCat("+Inf ", inf, " != count ", value));
          }
        }
      }
      if (total < last_total) failures.push_back("counter went down");
      last_total = total;
    }
  });

  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      // Children made concurrently too: one per thread, one shared.
      Counter& mine = counters.Get({absl::StrCat("w", t)});
      Counter& shared = counters.Get({"shared"});
      Histogram& h = histograms.Get({t % 2 == 0 ? "even" : "odd"});
      Gauge& g = gauges.Get({});
      for (int i = 0; i < kIterations; ++i) {
        mine.Inc();
        shared.Inc(2);
        g.Add(1);
        h.Observe(i % 2 == 0 ? 0.5 : 2.0);  // both exact: the sum is exact
        g.Add(-1);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  done.Notify();
  scraper.join();

  EXPECT_THAT(failures, ElementsAre());
  EXPECT_GT(scrapes, 0);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(counters.Get({absl::StrCat("w", t)}).Value(), kIterations);
  }
  EXPECT_EQ(counters.Get({"shared"}).Value(), 2u * kThreads * kIterations);
  EXPECT_EQ(gauges.Get({}).Value(), 0);
  for (const char* parity : {"even", "odd"}) {
    const Histogram& h = histograms.Get({parity});
    const uint64_t per_thread = kIterations;
    EXPECT_EQ(h.Count(), 2 * per_thread);
    EXPECT_EQ(h.BucketCount(0), per_thread);
    EXPECT_EQ(h.BucketCount(1), 0u);
    EXPECT_EQ(h.BucketCount(2), per_thread);
    EXPECT_EQ(h.Sum(), 2 * (0.5 + 2.0) * kIterations / 2);
  }
  const std::string text = registry.Expose();
  EXPECT_THAT(text, HasSubstr("\nh_seconds_bucket{t=\"even\",le=\"+Inf\"} "
                              "40000\nh_seconds_sum{t=\"even\"} 50000\n"
                              "h_seconds_count{t=\"even\"} 40000\n"));
}

// --- Bugs abort with a message -----------------------------------------------

struct BugCase {
  std::string name;
  std::function<void(Registry&)> misuse;
  std::string message;  // a regex matched against stderr
};

std::ostream& operator<<(std::ostream& os, const BugCase& c) {
  return os << c.name;
}

std::vector<BugCase> BugCases() {
  return {
      {"EmptyMetricName", [](Registry& r) { r.AddCounter("", "", {}); },
       "invalid metric name \"\""},
      {"MetricNameStartsWithDigit",
       [](Registry& r) { r.AddGauge("1abc", "", {}); },
       "invalid metric name \"1abc\""},
      {"MetricNameWithDash",
       [](Registry& r) { r.AddCounter("a-b_total", "", {}); },
       "invalid metric name"},
      {"MetricNameWithSpace",
       [](Registry& r) { r.AddHistogram("a b", "", {}, {}); },
       "invalid metric name"},
      {"MetricNameNotAscii",
       [](Registry& r) { r.AddGauge("gr\xC3\xBC\xC3\x9F" "e", "", {}); },
       "invalid metric name"},
      {"EmptyLabelName", [](Registry& r) { r.AddCounter("c", "", {""}); },
       "invalid label name \"\" in c"},
      {"LabelNameReserved",
       [](Registry& r) { r.AddCounter("c", "", {"__name__"}); },
       "invalid label name \"__name__\""},
      {"LabelNameWithColon",
       [](Registry& r) { r.AddGauge("g", "", {"a:b"}); },
       "invalid label name \"a:b\""},
      {"LabelNameStartsWithDigit",
       [](Registry& r) { r.AddGauge("g", "", {"9a"}); },
       "invalid label name \"9a\""},
      {"HistogramLabelLe",
       [](Registry& r) { r.AddHistogram("h", "", {"code", "le"}, {1}); },
       "histogram h cannot have label \"le\""},
      {"RepeatedLabelName",
       [](Registry& r) { r.AddCounter("c", "", {"a", "b", "a"}); },
       "label name \"a\" repeated in c"},
      {"DuplicateFamily",
       [](Registry& r) {
         r.AddCounter("x_total", "", {});
         r.AddGauge("x_total", "", {"a"});
       },
       "metric name \"x_total\" is already used"},
      {"CounterCollidesWithHistogramSamples",
       [](Registry& r) {
         r.AddHistogram("h", "", {}, {1});
         r.AddCounter("h_count", "", {});
       },
       "metric name \"h_count\" is already used"},
      {"HistogramCollidesWithCounter",
       [](Registry& r) {
         r.AddGauge("h_sum", "", {});
         r.AddHistogram("h", "", {}, {1});
       },
       "metric name \"h_sum\" is already used"},
      {"TooFewLabelValues",
       [](Registry& r) { r.AddCounter("c", "", {"a", "b"}).Get({"x"}); },
       "family c has 2 label name\\(s\\), got 1 label value\\(s\\)"},
      {"TooManyLabelValues",
       [](Registry& r) {
         const std::vector<std::string> values = {"x"};
         r.AddGauge("g", "", {}).Get(values);
       },
       "family g has 0 label name\\(s\\), got 1"},
      {"BoundsNotAscending",
       [](Registry& r) { r.AddHistogram("h", "", {}, {1, 0.5}); },
       "not strictly ascending at 1"},
      {"BoundsRepeated",
       [](Registry& r) { r.AddHistogram("h", "", {}, {0.5, 1, 1}); },
       "not strictly ascending at 2"},
      {"BoundNaN",
       [](Registry& r) { r.AddHistogram("h", "", {}, {std::nan("")}); },
       "bound 0 is not finite"},
      {"BoundInf",
       [](Registry& r) {
         r.AddHistogram("h", "", {},
                        {1, std::numeric_limits<double>::infinity()});
       },
       "bound 1 is not finite"},
      {"HistogramConstructedWithBadBounds",
       [](Registry&) { Histogram h({2, 1}); },
       "not strictly ascending"},
  };
}

class RegistryDeathTest : public ::testing::TestWithParam<BugCase> {};

TEST_P(RegistryDeathTest, AbortsWithMessage) {
  const BugCase& c = GetParam();
  EXPECT_DEATH(
      {
        Registry registry;
        c.misuse(registry);
      },
      "metrics: .*" + c.message);
}

INSTANTIATE_TEST_SUITE_P(Table, RegistryDeathTest,
                         ::testing::ValuesIn(BugCases()),
                         [](const ::testing::TestParamInfo<BugCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace metrics
}  // namespace usergateway
