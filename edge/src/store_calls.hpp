// Calls from server nodes (SDK, CLI) to the edge's store, by name with JSON arguments:
// fetch, cancel, and the RSMQ work-queue operations (wq.*), including receive that waits
// for a message (long poll). docs/protocol.md section 3 lists every op.
//
//   StoreCalls calls{store};
//   calls.call("wq.send", R"({"qname":"jobs","message":"resize a.png"})",
//              [](int code, std::string detail, std::string result) { answer(...); });
//
// reply runs once per call, on the store thread; it must not block.
#pragma once

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

    static constexpr std::int64_t kMaxWaitMs = 60'000;  // longest long poll

private:
    struct Waiter;
    using Op = std::function<Status(store::Tx&, std::string& result)>;
    // Runs op in the store; replies with its result, then wakes receivers of `wakes`.
    void run(Op op, Reply reply, std::string wakes = {});
    // Runs op, which only reads, in the store's read transaction (store::Store::read).
    void run_read(Op op, Reply reply);
    void receive(std::string queue, std::optional<std::int64_t> vt_ms, std::int64_t wait_ms,
                 bool pop, Reply reply);
    void attempt(const std::shared_ptr<Waiter>& waiter);
    void wake(const std::string& queue);  // store thread

    store::Store& store_;
    // Receivers waiting for a message, by queue. Store thread only.
    std::map<std::string, std::vector<std::shared_ptr<Waiter>>> waiting_;
};

}  // namespace adashta::edge
