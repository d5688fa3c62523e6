// PluginState over a real Store in a temporary folder.
#include <catch2/catch.hpp>

#include <future>
#include <string>

#include "plugin_state.hpp"
#include "temp_dir.hpp"

using namespace adashta;
using namespace adashta::edge;
using adashta::test::TempDir;

namespace {

struct NoEvents : store::StoreEvents {};

std::unique_ptr<store::Store> open_store(const TempDir& dir, store::StoreEvents& events) {
    auto store = store::Store::open({.path = (dir.path / "store.db").string()}, events);
    if (!store) FAIL(store.error().to_string());
    (*store)->start();
    return std::move(*store);
}

using Rows = std::vector<std::pair<std::string, std::string>>;

Rows load(PluginState& state, const std::string& plugin) {
    auto rows = state.load(plugin);
    if (!rows) FAIL(rows.error().to_string());
    return *rows;
}

// What the table holds for plugin, read past PluginState.
Rows on_disk(store::Store& store, const std::string& plugin) {
    auto rows = std::make_shared<Rows>();
    std::promise<Status> done;
    store.read(
        [&](store::Tx& tx) -> Status {
            auto read = tx.plugin_rows.read(plugin);
            if (!read) return read.error();
            *rows = *read;
            return {};
        },
        [&](const Status& s) { done.set_value(s); });
    REQUIRE(done.get_future().get().ok());
    return *rows;
}

}  // namespace

TEST_CASE("plugin state is written, and read back after the store is closed and opened again",
          "[plugin_state]") {
    TempDir dir;
    NoEvents events;
    {
        auto store = open_store(dir, events);
        PluginState state{*store};
        CHECK(load(state, "counter").empty());
        state.save("counter", "count", "1");
        state.save("counter", "user:alice", R"({"seen":2})");
        state.save("other", "k", R"("v")");  // a plugin not loaded yet
        // The copy in memory answers at once, before the disk has it.
        CHECK(load(state, "counter") == Rows{{"count", "1"}, {"user:alice", R"({"seen":2})"}});
        CHECK(load(state, "other") == Rows{{"k", R"("v")"}});
        state.wait_written();
        CHECK(on_disk(*store, "counter") == Rows{{"count", "1"}, {"user:alice", R"({"seen":2})"}});
    }
    auto store = open_store(dir, events);
    PluginState state{*store};
    CHECK(load(state, "counter") == Rows{{"count", "1"}, {"user:alice", R"({"seen":2})"}});
    CHECK(load(state, "other") == Rows{{"k", R"("v")"}});
    CHECK(load(state, "nobody").empty());
}

TEST_CASE("plugin state keeps the order of sets and deletes, many of them in one write", "[plugin_state]") {
    TempDir dir;
    NoEvents events;
    {
        auto store = open_store(dir, events);
        PluginState state{*store};
        CHECK(load(state, "p").empty());
        const auto writes_before = store->stats().writes.load();
        // The same keys set, deleted and set again: only the order makes the end right.
        for (int i = 0; i < 2000; ++i) {
            const std::string key = "k" + std::to_string(i % 10);
            if (i % 3 == 2) state.save("p", key, std::nullopt);
            else state.save("p", key, std::to_string(i));
        }
        state.save("p", "gone", "1");
        state.save("p", "gone", std::nullopt);
        const Rows expected = load(state, "p");
        state.wait_written();
        CHECK(on_disk(*store, "p") == expected);
        // Batched: far fewer store writes than changes (each waits for the one before).
        CHECK(store->stats().writes.load() - writes_before < 2002);
        UNSCOPED_INFO("store writes for 2002 changes: " << store->stats().writes.load() - writes_before);
    }
    // What the last calls said, for each key, after a restart.
    Rows expected;
    for (int k = 0; k < 10; ++k) {
        int last = -1;
        for (int i = 0; i < 2000; ++i)
            if (i % 10 == k) last = i;
        if (last % 3 != 2) expected.emplace_back("k" + std::to_string(k), std::to_string(last));
    }
    auto store = open_store(dir, events);
    PluginState state{*store};
    CHECK(load(state, "p") == expected);
}

TEST_CASE("a change saved before the plugin's first load is seen by that load", "[plugin_state]") {
    TempDir dir;
    NoEvents events;
    {
        auto store = open_store(dir, events);
        PluginState state{*store};
        state.save("p", "a", "1");
        state.save("p", "b", "2");
        state.wait_written();
    }
    auto store = open_store(dir, events);
    PluginState state{*store};
    state.save("p", "a", std::nullopt);  // before the first load: the read may miss it
    state.save("p", "c", "3");
    CHECK(load(state, "p") == Rows{{"b", "2"}, {"c", "3"}});
    state.wait_written();
    CHECK(on_disk(*store, "p") == Rows{{"b", "2"}, {"c", "3"}});
}

TEST_CASE("preload reads every plugin's state before the store starts; loads then never wait",
          "[plugin_state]") {
    TempDir dir;
    NoEvents events;
    {
        auto store = open_store(dir, events);
        PluginState state{*store};
        state.save("a", "k", "1");
        state.save("b", "k", "2");
        state.wait_written();
    }
    auto opened = store::Store::open({.path = (dir.path / "store.db").string()}, events);
    REQUIRE(opened);
    auto& store = **opened;
    PluginState state{store};
    REQUIRE(state.preload().ok());
    // Not started: a load that went to the store would wait forever.
    CHECK(load(state, "a") == Rows{{"k", "1"}});
    CHECK(load(state, "b") == Rows{{"k", "2"}});
    CHECK(load(state, "new").empty());
    state.save("new", "k", "3");
    CHECK(load(state, "new") == Rows{{"k", "3"}});
    store.start();
    state.wait_written();
    CHECK(on_disk(store, "new") == Rows{{"k", "3"}});
}
