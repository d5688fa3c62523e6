// A log-linear latency histogram in microseconds, for the tools in this folder. Values below
// 128 µs are counted exactly; above, each power of two is split into 64 equal buckets, so a
// reported percentile is within 1/128 (< 1 %) of the value recorded. Fixed size (about 30 kB),
// no allocation when recording: each thread keeps its own and they are merged at the end.
//
//   Histogram latency;
//   latency.record(took_us);
//   std::cout << latency.json();   // {"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"count":..}
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>

namespace adashta::bench {

class Histogram {
public:
    // Counts one value (µs). Negative values count as 0.
    void record(std::int64_t value_us) {
        const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(value_us, 0));
        ++buckets_[index_of(v)];
        ++count_;
        max_ = std::max(max_, v);
    }

    void merge(const Histogram& other) {
        for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
        count_ += other.count_;
        max_ = std::max(max_, other.max_);
    }

    std::uint64_t count() const { return count_; }
    std::uint64_t max() const { return max_; }

    // The value at quantile q (0..1): the middle of the bucket holding the ceil(q*count)-th
    // smallest value, never above the largest value recorded. 0 when empty.
    std::uint64_t percentile(double q) const {
        if (count_ == 0) return 0;
        const auto rank = std::max<std::uint64_t>(
            1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= rank) return std::min(middle_of(i), max_);
        }
        return max_;
    }

    // The object the bench contract names "latency_us".
    std::string json() const {
        return "{\"p50\":" + std::to_string(percentile(0.50)) +
               ",\"p90\":" + std::to_string(percentile(0.90)) +
               ",\"p99\":" + std::to_string(percentile(0.99)) +
               ",\"p999\":" + std::to_string(percentile(0.999)) +
               ",\"max\":" + std::to_string(max_) + ",\"count\":" + std::to_string(count_) + "}";
    }

private:
    static constexpr unsigned kExact = 128;  // values below this have a bucket each
    static constexpr unsigned kHalf = 64;    // buckets per power of two above kExact

    static std::size_t index_of(std::uint64_t v) {
        if (v < kExact) return v;
        const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 7;  // v >> shift: 64..127
        return shift * kHalf + (v >> shift);
    }
    static std::uint64_t middle_of(std::size_t index) {
        if (index < kExact) return index;
        const std::size_t shift = index / kHalf - 1;
        const std::uint64_t low = static_cast<std::uint64_t>(index - shift * kHalf) << shift;
        return low + ((std::uint64_t{1} << shift) >> 1);
    }

    std::array<std::uint64_t, 58 * kHalf + kExact> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace adashta::bench
