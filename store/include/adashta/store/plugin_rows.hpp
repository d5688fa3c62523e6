// The plugins' own state in the store: one row per (plugin, key) holding a JSON text, in
// the table plugin_state (docs/plugins.md, "What a plugin can do besides its hooks"). The
// edge's PluginState (edge/src/plugin_state.hpp) keeps the rows in memory and writes them
// behind through Store::write; this is the SQL under it.
//
//   (*store)->write([](Tx& tx) { return tx.plugin_rows.put("analytics", "views:/", "42"); });
//   (*store)->read([&](Tx& tx) -> Status {
//       auto rows = tx.plugin_rows.read("analytics");      // key → JSON text, by key
//       ...
//   });
//
// Transactions belong to the caller, as for WorkQueues: nothing here begins or commits. The
// table is created when missing (CREATE TABLE IF NOT EXISTS is its migration from stores
// that predate it; an older edge leaves it alone). Not thread-safe: the store thread's.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adashta/result.hpp"
#include "adashta/store/sqlite.hpp"

namespace adashta::store {

class PluginRows {
public:
    // Creates the table if missing (in a transaction of its own when the caller has none).
    static Result<std::unique_ptr<PluginRows>> open(Db& db);
    ~PluginRows();
    PluginRows(const PluginRows&) = delete;
    PluginRows& operator=(const PluginRows&) = delete;

    // Every key of plugin with its value, in key order (bytewise).
    Result<std::vector<std::pair<std::string, std::string>>> read(std::string_view plugin);
    // Every plugin's keys: plugin → its (key, value) rows in key order.
    Result<std::map<std::string, std::vector<std::pair<std::string, std::string>>>> read_all();
    // Sets key's value (inserting or replacing), or removes the key.
    Status put(std::string_view plugin, std::string_view key, std::string_view value);
    Status erase(std::string_view plugin, std::string_view key);

private:
    struct Statements;
    explicit PluginRows(Db& db);
    std::unique_ptr<Statements> sql_;  // prepared once
};

}  // namespace adashta::store
