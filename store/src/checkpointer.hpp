// Copies the store's write-ahead log back into the database file on a thread of its own.
//
// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
// store thread: it copies about a thousand pages and fsyncs twice, and every request queued
// behind that commit waits for it (several milliseconds, twenty times a second under load).
// Here the committing connection only counts frames; a second connection checkpoints in
// PASSIVE mode (never blocking the writer) whenever kStartFrames frames came since the last
// checkpoint. Should the log still grow past kForceFrames (it starts over only once a
// checkpoint caught up with the writer, which beside a writer that never pauses it does not),
// the writer waits for the background checkpoint, copies the rest itself and has the log
// start over (RESTART): the log stays within about kForceFrames pages plus one commit.
//
//   auto checkpointer = Checkpointer::start(path, *db, durable);  // db: the writing connection
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "adashta/result.hpp"
#include "adashta/store/sqlite.hpp"

namespace adashta::store {

class Checkpointer {
public:
    static constexpr int kStartFrames = 1000;   // SQLite's own threshold
    static constexpr int kForceFrames = 16000;  // ~64 MiB of log: the writer steps in

    // Opens its own connection to the database at path and hooks writer's commits.
    // force_frames: kForceFrames but in tests.
    static Result<std::unique_ptr<Checkpointer>> start(const std::string& path, Db& writer,
                                                       bool durable,
                                                       int force_frames = kForceFrames);
    ~Checkpointer();  // unhooks the writer and stops the thread
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;

private:
    Checkpointer(Db& writer, std::unique_ptr<Db> own, int force_frames);
    void committed(int frames);  // on the writer's thread, after each commit
    void run();

    Db& writer_;
    const int force_frames_;
    std::unique_ptr<Db> db_;  // the checkpointing connection, used only by thread_
    std::mutex checkpointing_;  // held by whichever thread checkpoints, for the call only
    std::mutex mutex_;
    std::condition_variable wakeup_;
    std::atomic<int> copied_{0};  // frames of the log the last checkpoint put in the database
    bool wanted_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace adashta::store
