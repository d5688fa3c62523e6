// Calls from server nodes (SDK, CLI) to the edge's store, by name with JSON arguments:
// fetch, cancel, and the RSMQ work-queue operations (wq.*), including receive that waits
// for a message (long poll), and batches of sends, receives and deletes in one call
// (wq.sendBatch, wq.receiveBatch, wq.deleteBatch). docs/protocol.md section 3 lists every op.
//
//   StoreCalls calls{store};
//   calls.call("wq.send", R"({"qname":"jobs","message":"resize a.png"})",
//              [](int code, std::string detail, std::string result) { answer(...); });
//
// reply runs once per call, on the store thread; it must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/store/store.hpp"

namespace adashta::edge {

class StoreCalls {
public:
    // code 0 and a JSON result, or an error code (proto/errors.json) and a detail.
    using Reply = std::function<void(int code, std::string detail, std::string result)>;

    explicit StoreCalls(store::Store& store) : store_(store) {}
    // Any thread.
    void call(std::string_view op, std::string_view args_json, Reply reply);

    // The edge is stopping: every receive that waits answers now, empty-handed, as if its
    // wait ran out, and receives from now on do not wait. The worker asks again, and gets
    // the restarted edge (or another). Store thread.
    void end_waits();

    static constexpr std::int64_t kMaxWaitMs = 60'000;  // longest long poll
    static constexpr std::size_t kMaxBatch = 1000;      // jobs or ids in one wq.*Batch call
    // A fetch answer stops before its messages pass this many bytes (the first always
    // comes), far below the 16 MiB a mesh frame may carry; "next" says where to go on.
    static constexpr std::size_t kMaxFetchBytes = 4 << 20;

private:
    struct Waiter;
    using Op = std::function<Status(store::Tx&, std::string& result)>;
    // Runs op in the store; replies with its result, then wakes up to `jobs` receivers
    // waiting on queue `wakes` (kEveryWaiter: all of them).
    void run(Op op, Reply reply, std::string wakes = {}, std::size_t jobs = 1);
    // Runs op, which only reads, in the store's read transaction (store::Store::read).
    void run_read(Op op, Reply reply);
    void attempt(const std::shared_ptr<Waiter>& waiter);
    static constexpr std::size_t kEveryWaiter = SIZE_MAX;
    void wake(const std::string& queue, std::size_t jobs);  // store thread

    store::Store& store_;
    // Receivers waiting for a message, by queue. Store thread only.
    std::map<std::string, std::vector<std::shared_ptr<Waiter>>> waiting_;
    bool ending_ = false;  // end_waits() ran. Store thread only.
};

}  // namespace adashta::edge
