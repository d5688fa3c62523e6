#include "fair_feed.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace adashta::edge {

void FairFeed::add(const std::string& session, store::Write write, std::size_t bytes) {
    std::lock_guard lock{mutex_};
    auto [lane, added] = lanes_.try_emplace(session);
    if (added) {  // a lane without writes has no turn: it joins the end of the round
        turns_.push_back(session);
        sessions_ = lanes_.size();
    }
    lane->second.items.push_back({std::move(write), std::max<std::size_t>(bytes, 1)});
    ++waiting_;
}

bool FairFeed::take(std::size_t most, std::size_t most_bytes, std::vector<store::Write>& into) {
    std::lock_guard lock{mutex_};
    std::size_t taken = 0;
    std::size_t bytes = 0;
    while (!turns_.empty()) {
        auto it = lanes_.find(turns_.front());
        assert(it != lanes_.end() && !it->second.items.empty());
        Lane& lane = it->second;
        if (!lane.in_turn) {
            lane.deficit += kQuantum;
            // Alone, a lane need not save up over many turns for a large write.
            if (turns_.size() == 1)
                lane.deficit = std::max(lane.deficit, lane.items.front().bytes);
            lane.in_turn = true;
        }
        while (!lane.items.empty() && lane.items.front().bytes <= lane.deficit) {
            Item& item = lane.items.front();
            // The round is full: this lane's turn goes on in the next one, with its credit.
            if (taken == most || (taken > 0 && bytes + item.bytes > most_bytes)) {
                waiting_ -= taken;
                return true;
            }
            lane.deficit -= item.bytes;
            bytes += item.bytes;
            ++taken;
            into.push_back(std::move(item.write));
            lane.items.pop_front();
        }
        lane.in_turn = false;
        if (lane.items.empty()) {  // an idle lane keeps no credit (DRR)
            lanes_.erase(it);
            turns_.pop_front();
            sessions_ = lanes_.size();
        } else {
            std::string session = std::move(turns_.front());
            turns_.pop_front();
            turns_.push_back(std::move(session));
        }
    }
    waiting_ -= taken;
    return false;
}

}  // namespace adashta::edge
