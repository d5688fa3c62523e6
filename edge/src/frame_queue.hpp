// The frames waiting to be written to one browser connection, oldest first.
//
// Most connections are idle most of the time, so an empty queue holds no memory at all:
// std::deque, the obvious choice, allocates a map and a 512-byte block as soon as it exists
// (libstdc++), which was a tenth of what an idle connection cost the edge. Here the frames
// sit in a vector read from head_; the vector is released when the queue drains and
// compacted when its front half has been sent, so push and pop stay amortized O(1).
//
//   FrameQueue out;
//   out.push_back(frame);
//   while (!out.empty()) { write(*out.front()); out.pop_front(); }
#pragma once

#include <cassert>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace adashta::edge {

class FrameQueue {
public:
    using Frame = std::shared_ptr<std::string>;  // LWS_PRE spare bytes, then the payload

    bool empty() const { return head_ == frames_.size(); }
    std::size_t size() const { return frames_.size() - head_; }

    // The oldest frame; the queue must not be empty.
    Frame& front() {
        assert(!empty());
        return frames_[head_];
    }

    void push_back(Frame frame) { frames_.push_back(std::move(frame)); }

    // Drops the oldest frame; the queue must not be empty.
    void pop_front() {
        assert(!empty());
        frames_[head_++].reset();
        if (empty())
            clear();
        else if (head_ >= kCompactAfter && head_ * 2 >= frames_.size())
            compact();
    }

    // Drops every frame and gives the memory back.
    void clear() {
        std::vector<Frame>{}.swap(frames_);
        head_ = 0;
    }

private:
    // Sent frames at the front are only erased in batches of at least this many.
    static constexpr std::size_t kCompactAfter = 32;

    void compact() {
        frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }

    std::vector<Frame> frames_;  // frames_[head_..] wait; those before it were sent (null)
    std::size_t head_ = 0;       // index of the oldest waiting frame
};

}  // namespace adashta::edge
