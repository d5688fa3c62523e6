#include "checkpointer.hpp"

#include <sqlite3.h>

#include "adashta/log.hpp"

namespace adashta::store {
namespace {

// PASSIVE: copies what it can without waiting for readers or the writer. Sets `copied` to
// the frames of the log now in the database.
int checkpoint(sqlite3* db, int& copied, int mode = SQLITE_CHECKPOINT_PASSIVE) {
    int log_frames = 0;
    return sqlite3_wal_checkpoint_v2(db, nullptr, mode, &log_frames, &copied);
}

}  // namespace

Result<std::unique_ptr<Checkpointer>> Checkpointer::start(const std::string& path, Db& writer,
                                                          bool durable, int force_frames) {
    auto own = Db::open(path, durable);
    if (!own) return own.error();
    std::unique_ptr<Checkpointer> c{new Checkpointer{writer, std::move(*own), force_frames}};
    // Replaces SQLite's automatic checkpoint on the writer (which is a wal hook too).
    sqlite3_wal_hook(
        writer.handle(),
        [](void* self, sqlite3*, const char*, int frames) {
            static_cast<Checkpointer*>(self)->committed(frames);
            return SQLITE_OK;
        },
        c.get());
    c->thread_ = std::thread{[self = c.get()] { self->run(); }};
    return c;
}

Checkpointer::Checkpointer(Db& writer, std::unique_ptr<Db> own, int force_frames)
    : writer_(writer), force_frames_(force_frames), db_(std::move(own)) {}

Checkpointer::~Checkpointer() {
    sqlite3_wal_hook(writer_.handle(), nullptr, nullptr);
    {
        std::lock_guard lock{mutex_};
        stopping_ = true;
    }
    wakeup_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void Checkpointer::committed(int frames) {
    // Fewer frames than were copied: the writer started the log over.
    if (frames < copied_.load()) copied_ = 0;
    if (frames >= force_frames_) {
        // The log only starts over once a checkpoint caught up with the writer, which one
        // running beside a steady writer never does: the writer copies it all itself and
        // has the next commit start the log over (RESTART). SQLite answers BUSY at once,
        // without its busy handler, while another connection checkpoints, which under a
        // steady writer is nearly always (and the log grew with everything written): so the
        // writer first waits for the background checkpoint to end. It stalls for the copy.
        std::lock_guard one_at_a_time{checkpointing_};
        int copied = 0;
        if (const int rc = checkpoint(writer_.handle(), copied, SQLITE_CHECKPOINT_RESTART);
            rc != SQLITE_OK && rc != SQLITE_BUSY)
            log::warn("store", std::string{"checkpoint of a "} + std::to_string(frames) +
                                   "-page log failed: " + sqlite3_errstr(rc));
        else
            copied_ = copied;
        return;
    }
    if (frames - copied_.load() < kStartFrames) return;
    bool was_wanted = false;
    {
        std::lock_guard lock{mutex_};
        was_wanted = wanted_;
        wanted_ = true;
    }
    if (!was_wanted) wakeup_.notify_one();
}

void Checkpointer::run() {
    int last_failure = SQLITE_OK;  // logged once until it changes
    for (;;) {
        {
            std::unique_lock lock{mutex_};
            wakeup_.wait(lock, [&] { return wanted_ || stopping_; });
            if (stopping_) return;
            wanted_ = false;
        }
        int copied = 0;
        std::unique_lock one_at_a_time{checkpointing_};
        const int rc = checkpoint(db_->handle(), copied);
        one_at_a_time.unlock();
        if (rc == SQLITE_OK) copied_ = copied;
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != last_failure)
            log::warn("store", std::string{"background checkpoint failed: "} + sqlite3_errstr(rc) +
                                   " (the log keeps growing until it succeeds; free disk space "
                                   "if the disk is full)");
        last_failure = rc;
    }
}

}  // namespace adashta::store
