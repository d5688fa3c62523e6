// The HTTP thread's memory budgets, in bytes as well as counts (docs/operations.md,
// "Memory"): what it reads from browsers before the store answers, what it asks the store
// for on their behalf, and when it gives freed memory back. Everything here runs on the
// HTTP thread and touches only its state (HttpServer, Sessions).
//
// Produces. Each produce holds its cost (its data and kProduceOverhead) of its connection's
// budget (--max-producing-bytes, and kMaxProducing produces) and of the edge's
// (--max-producing-total) until the store answers it. A connection at its budget is read no
// further (lws_rx_flow_control): TCP slows its sender down, and nothing piles up here. At the
// edge's budget, every connection with more than kEdgeFloor waiting pauses, so one that sends
// little keeps being served while others flood; each resumes once its own produces are
// answered, or the edge's total is down to three quarters.
//
// Store reads. A fetch, and each page of a resume's replay, is one read of at most
// page_bytes_; a connection makes one at a time, only when its outbox has room for a page
// (max_outbox), and holds page_bytes_ of the edge's read budget (--max-reading-total) from
// asking until the page is written to its socket. So a backlog of any size comes through,
// in order, a page after the outbox drained; and the store answers in memory at once are
// bounded, however many connections ask.
#include <malloc.h>

#include <algorithm>

#include <libwebsockets.h>

#include "adashta/log.hpp"
#include "http_server.hpp"

namespace adashta::edge {

void HttpServer::produce_answered(std::uint64_t connection, std::size_t cost) {
    producing_total_ -= std::min(cost, producing_total_);
    if (Connection* c = sessions_.find(connection)) {
        if (c->producing > 0) --c->producing;
        c->producing_bytes -= std::min(cost, c->producing_bytes);
        update_reading(*c);
    }
    if (!paused_for_edge_.empty() &&
        producing_total_ <= options_.max_producing_total / 4 * 3)
        resume_paused_for_edge();
}

void HttpServer::update_reading(Connection& c) {
    // The drain stopped reading for good (stop_reading_clients); a closing connection reads
    // only to find the client's close frame (send_close_frame).
    if (draining_ || c.close_code) return;
    const bool paused = c.rx_paused;
    const std::size_t own = options_.max_producing_bytes;
    const std::size_t edge = options_.max_producing_total;
    // Pause at a budget, resume at half of it: not a pause and a resume per message.
    const bool over_own = paused ? c.producing > kMaxProducing / 2 || c.producing_bytes > own / 2
                                 : c.producing >= kMaxProducing || c.producing_bytes >= own;
    const bool over_reads = paused ? c.reads.size() > kMaxReadsWaiting / 2
                                   : c.reads.size() >= kMaxReadsWaiting;
    const bool over_edge =
        c.producing_bytes >= kEdgeFloor &&
        (paused ? producing_total_ > edge / 4 * 3 : producing_total_ >= edge);
    const bool pause = over_own || over_reads || over_edge || c.admitting;
    if (pause && over_edge && !c.edge_paused) {
        c.edge_paused = true;
        paused_for_edge_.push_back(c.serial);
    }
    if (pause == paused) return;
    c.rx_paused = pause;
    // Through the socket, so that its idle clock stands still while we keep from reading it.
    if (ClientSocket* socket = socket_of(c)) socket->pause_reading(pause);
    else lws_rx_flow_control(static_cast<lws*>(c.wsi), pause ? 0 : 1);
}

void HttpServer::resume_paused_for_edge() {
    for (std::uint64_t serial : std::exchange(paused_for_edge_, {}))
        if (Connection* c = sessions_.find(serial)) {
            c->edge_paused = false;
            update_reading(*c);  // lists it again if it still must wait
        }
}

void HttpServer::pump_reads(Connection& c) {
    while (!c.reading && !c.reads.empty() && !c.close_code) {
        // A page must fit beside what waits to be written; on_writeable asks again.
        if (c.out_bytes + page_bytes_ > options_.max_outbox) return;
        if (reading_total_ + page_bytes_ > options_.max_reading_total) {
            if (!c.waiting_to_read) {
                c.waiting_to_read = true;
                waiting_to_read_.push_back(c.serial);
            }
            return;
        }
        PendingRead r = std::move(c.reads.front());
        c.reads.erase(c.reads.begin());
        if (!r.fetch) {  // unconsumed meanwhile (and perhaps consumed again): not needed
            auto replaying = c.replaying.find(r.queue);
            if (replaying == c.replaying.end() || replaying->second.id != r.replay) continue;
        }
        c.reading = true;
        reading_total_ += page_bytes_;
        if (r.fetch)
            router_.fetch({.connection = c.serial,
                           .ref = r.ref,
                           .session = c.session,
                           .user = c.admission.user,
                           .queue = std::move(r.queue),
                           .from = r.from,
                           .since_ms = r.since_ms,
                           .limit = r.limit,
                           .max_bytes = page_bytes_});
        else
            router_.replay(c.serial, c.session, c.admission.user, std::move(r.queue),
                           r.from.value_or(0), page_bytes_, r.replay);
    }
    update_reading(c);  // fewer reads wait: reading may resume
}

void HttpServer::page_arrived(Connection* c) {
    if (!c) return release_page();  // its connection closed while the store read
    c->page_queued = true;
    c->page_end = c->queued_total;
    if (c->written_total >= c->page_end) page_done(*c);  // nothing of it waits (or closing)
}

void HttpServer::page_done(Connection& c) {
    c.reading = false;
    c.page_queued = false;
    release_page();
    pump_reads(c);
}

void HttpServer::release_page() {
    reading_total_ -= std::min(page_bytes_, reading_total_);
    read_waiting();
}

void HttpServer::read_waiting() {
    while (!waiting_to_read_.empty() &&
           reading_total_ + page_bytes_ <= options_.max_reading_total) {
        const std::uint64_t serial = waiting_to_read_.front();
        waiting_to_read_.pop_front();
        if (Connection* c = sessions_.find(serial)) {
            c->waiting_to_read = false;
            pump_reads(*c);
        }
    }
}

// glibc keeps what the threads freed in their malloc arenas: after a flood the edge's RSS
// stayed at several times its baseline with the memory free inside it. malloc_trim(0)
// returns the free pages of every arena. It runs from the 1 s sweep, once the edge has been
// quiet for a second (fewer than kQuietFrames frames) after moving kBurstBytes or more since
// the last trim: once per burst, never in the middle of one.
void HttpServer::trim_when_idle() {
    constexpr std::uint64_t kQuietFrames = 1000;
    constexpr std::uint64_t kBurstBytes = 16 << 20;
    const std::uint64_t frames = stats_.frames_in + stats_.frames_out;
    const bool quiet = frames - frames_at_sweep_ < kQuietFrames && producing_total_ == 0;
    frames_at_sweep_ = frames;
    if (!quiet || bytes_since_trim_ < kBurstBytes) return;
    bytes_since_trim_ = 0;
    malloc_trim(0);
}

}  // namespace adashta::edge
