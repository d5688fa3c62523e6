#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "frame_queue.hpp"

using adashta::edge::FrameQueue;

namespace {

FrameQueue::Frame frame(int n) {
    return std::make_shared<std::string>(std::to_string(n));
}

}  // namespace

TEST_CASE("frames leave the queue in the order they came", "[frame_queue]") {
    FrameQueue q;
    CHECK(q.empty());
    // Enough to go through several compactions while frames keep arriving.
    int next_in = 0;
    int next_out = 0;
    for (int round = 0; round < 50; ++round) {
        for (int i = 0; i < 7; ++i) q.push_back(frame(next_in++));
        for (int i = 0; i < 5; ++i) {
            REQUIRE_FALSE(q.empty());
            CHECK(*q.front() == std::to_string(next_out++));
            q.pop_front();
        }
    }
    CHECK(q.size() == static_cast<std::size_t>(next_in - next_out));
    while (!q.empty()) {
        CHECK(*q.front() == std::to_string(next_out++));
        q.pop_front();
    }
    CHECK(next_out == next_in);
}

TEST_CASE("a sent frame is let go at once, and a drained queue holds nothing", "[frame_queue]") {
    FrameQueue q;
    auto shared = frame(1);  // a fan-out shares one frame between connections
    q.push_back(shared);
    q.push_back(frame(2));
    CHECK(shared.use_count() == 2);
    q.pop_front();
    CHECK(shared.use_count() == 1);
    q.pop_front();
    CHECK(q.empty());
    CHECK(q.size() == 0);
    q.push_back(frame(3));
    q.clear();
    CHECK(q.empty());
}
