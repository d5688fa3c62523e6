#include "nats_reader.hpp"

#include <charconv>
#include <cstring>

namespace {

// Splits "MSG <subject> <sid> [reply] <#bytes>" into its words.
int split_words(std::string_view line, std::string_view* words, int max_words) {
    int n = 0;
    std::size_t i = 0;
    while (i < line.size() && n < max_words) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) words[n++] = line.substr(start, i - start);
    }
    return n;
}

bool starts_with(std::string_view line, std::string_view word) {
    return line.size() >= word.size() && line.compare(0, word.size(), word) == 0;
}

}  // namespace

void NatsReader::append(const char* data, std::size_t size) {
    if (read_ == buffer_.size()) {
        buffer_.clear();
        read_ = 0;
    }
    buffer_.append(data, size);
}

void NatsReader::compact() {
    if (read_ == 0) return;
    buffer_.erase(0, read_);
    read_ = 0;
}

bool NatsReader::next(NatsEvent& event) {
    if (read_ >= buffer_.size()) return false;
    const char* start = buffer_.data() + read_;
    std::size_t avail = buffer_.size() - read_;
    const void* nl = std::memchr(start, '\n', avail);
    if (nl == nullptr) return false;
    std::size_t line_bytes = static_cast<std::size_t>(static_cast<const char*>(nl) - start) + 1;
    std::string_view line{start, line_bytes - 1};
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    event = NatsEvent{};
    event.line = line;
    if (starts_with(line, "MSG ")) {
        std::string_view words[5];
        int n = split_words(line, words, 5);
        if (n != 4 && n != 5) {
            event.op = NatsOp::unknown;
            read_ += line_bytes;
            return true;
        }
        std::string_view count = words[n - 1];
        std::size_t size = 0;
        auto [ptr, ec] = std::from_chars(count.data(), count.data() + count.size(), size);
        if (ec != std::errc{} || ptr != count.data() + count.size()) {
            event.op = NatsOp::unknown;
            read_ += line_bytes;
            return true;
        }
        if (avail < line_bytes + size + 2) return false;  // payload still on its way
        event.op = NatsOp::msg;
        event.subject = words[1];
        event.reply = n == 5 ? words[3] : std::string_view{};
        event.payload = std::string_view{start + line_bytes, size};
        read_ += line_bytes + size + 2;
        return true;
    }
    if (starts_with(line, "PING"))
        event.op = NatsOp::ping;
    else if (starts_with(line, "PONG"))
        event.op = NatsOp::pong;
    else if (starts_with(line, "+OK"))
        event.op = NatsOp::ok;
    else if (starts_with(line, "-ERR"))
        event.op = NatsOp::err;
    else if (starts_with(line, "INFO"))
        event.op = NatsOp::info;
    else
        event.op = NatsOp::unknown;
    read_ += line_bytes;
    return true;
}
