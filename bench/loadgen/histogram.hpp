// Log-linear latency histogram: exact below 256, then 128 linear buckets per power of two,
// so a reported value is within 0.4 % of the recorded one. Values are microseconds; anything
// above 2^38 us is clamped. Fixed size (about 40 KiB), no allocation on record().
//
//   Histogram h;
//   h.record(latency_us);
//   std::cout << h.to_json();   // {"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"count":..}
#pragma once

#include <array>
#include <cstdint>
#include <string>

class Histogram {
public:
    void record(uint64_t value);

    uint64_t count() const { return count_; }
    uint64_t max() const { return max_; }

    // The value at quantile q in [0, 1] (bucket midpoint, never above max()); 0 when empty.
    uint64_t quantile(double q) const;

    std::string to_json() const;

private:
    static constexpr int linear_bits = 8;                       // exact range: 0..255
    static constexpr int sub_buckets = 1 << (linear_bits - 1);  // per power of two above it
    static constexpr int octaves = 31;                          // 2^8 .. 2^38
    static constexpr int bucket_count = (1 << linear_bits) + octaves * sub_buckets;

    static int index_of(uint64_t value);
    static uint64_t midpoint_of(int index);

    std::array<uint64_t, bucket_count> buckets_{};  // counts per bucket
    uint64_t count_ = 0;                            // values recorded
    uint64_t max_ = 0;                              // largest value recorded (exact)
};
