// adashta::edge::FairFeed — browsers' produces on their way into the store, served fairly:
// each session has its own lane (its writes in the order it sent them), and the store takes
// from the lanes in turn (deficit round robin by bytes, Shreedhar and Varghese), a bounded
// number per round (store::Store::feed_from). A flooding session's backlog waits in its own
// lane, so another session's produce is in the next round or the one after, however much
// the flooders have queued; and a round stays short, so the node acks and answers that go
// to the store directly never wait long behind produces.
//
//   FairFeed feed;
//   store.feed_from(feed, 1024, 4 << 20);                    // before store.start()
//   feed.add(session, {work, done, store::Atomic::ordered}, data.size() + 256);
//   store.fed();                                             // once after many adds
//
// Order: a session's writes reach the store in the order they were added; writes of
// different sessions interleave. The feed only queues: every write added is taken by the
// store, which runs it and its done (the store drains the feed before it stops).
//
// Threads: add() on any thread (the edge's mesh thread), take() on the store thread; the
// lanes are guarded by mutex_, which is never held while calling out.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "adashta/store/store.hpp"

namespace adashta::edge {

class FairFeed final : public store::WriteFeed {
public:
    // The credit, in bytes, a lane gets each time its turn comes: about one small produce,
    // so a turn takes one or two of a lane's small writes and a large one waits for several
    // turns' credit (a flood of 16 KiB messages does not outweigh a 64-byte one).
    static constexpr std::size_t kQuantum = 512;

    // Queues write behind the session's earlier writes. bytes: what it weighs (its data and
    // about what the store adds), at least 1. Any thread.
    void add(const std::string& session, store::Write write, std::size_t bytes);
    // Store thread (WriteFeed): the next writes in round-robin order by session.
    bool take(std::size_t most, std::size_t most_bytes, std::vector<store::Write>& into) override;

    std::size_t waiting() const { return waiting_; }    // writes queued; any thread
    std::size_t sessions() const { return sessions_; }  // sessions with writes queued

private:
    struct Item {
        store::Write write;
        std::size_t bytes = 0;  // its weight (add)
    };
    struct Lane {
        std::deque<Item> items;     // in the order added
        std::size_t deficit = 0;    // credit left of this lane's turns, bytes
        bool in_turn = false;       // its turn began (credited) and was cut by a round's end
    };

    std::mutex mutex_;  // guards lanes_ and turns_
    std::unordered_map<std::string, Lane> lanes_;  // by session; only lanes with writes
    std::deque<std::string> turns_;  // the sessions of lanes_, front: the one whose turn it is
    std::atomic<std::size_t> waiting_{0};   // writes in lanes_
    std::atomic<std::size_t> sessions_{0};  // lanes_.size()
};

}  // namespace adashta::edge
