#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

int Histogram::index_of(uint64_t value) {
    if (value < (1u << linear_bits)) return static_cast<int>(value);
    int shift = std::bit_width(value) - linear_bits;  // >= 1
    if (shift > octaves) return bucket_count - 1;
    int sub = static_cast<int>(value >> shift) - sub_buckets;  // 0..127
    return (1 << linear_bits) + (shift - 1) * sub_buckets + sub;
}

uint64_t Histogram::midpoint_of(int index) {
    if (index < (1 << linear_bits)) return static_cast<uint64_t>(index);
    int rel = index - (1 << linear_bits);
    int shift = rel / sub_buckets + 1;
    uint64_t low = static_cast<uint64_t>(rel % sub_buckets + sub_buckets) << shift;
    return low + ((uint64_t{1} << shift) >> 1);
}

void Histogram::record(uint64_t value) {
    ++buckets_[static_cast<std::size_t>(index_of(value))];
    ++count_;
    max_ = std::max(max_, value);
}

uint64_t Histogram::quantile(double q) const {
    if (count_ == 0) return 0;
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (int i = 0; i < bucket_count; ++i) {
        seen += buckets_[static_cast<std::size_t>(i)];
        if (seen >= rank) return std::min(midpoint_of(i), max_);
    }
    return max_;
}

std::string Histogram::to_json() const {
    std::string out = "{\"p50\":" + std::to_string(quantile(0.5));
    out += ",\"p90\":" + std::to_string(quantile(0.9));
    out += ",\"p99\":" + std::to_string(quantile(0.99));
    out += ",\"p999\":" + std::to_string(quantile(0.999));
    out += ",\"max\":" + std::to_string(max_);
    out += ",\"count\":" + std::to_string(count_) + "}";
    return out;
}
