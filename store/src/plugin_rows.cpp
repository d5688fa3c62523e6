#include "adashta/store/plugin_rows.hpp"

#include <optional>

namespace adashta::store {
namespace {

// WITHOUT ROWID: the primary key is the row, so a plugin's keys are one range of the b-tree
// and read() walks it in key order.
constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS plugin_state(
    plugin TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY(plugin, key)
) WITHOUT ROWID;
)";

bool in_transaction(Db& db) { return db.in_transaction(); }

}  // namespace

struct PluginRows::Statements {
    explicit Statements(Db& db)
        : read(db, "SELECT key, value FROM plugin_state WHERE plugin = ?1 ORDER BY key"),
          put(db, "INSERT INTO plugin_state(plugin, key, value) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT(plugin, key) DO UPDATE SET value = excluded.value"),
          erase(db, "DELETE FROM plugin_state WHERE plugin = ?1 AND key = ?2"),
          read_all(db, "SELECT plugin, key, value FROM plugin_state ORDER BY plugin, key") {}
    Statement read;
    Statement put;
    Statement erase;
    Statement read_all;
};

Result<std::unique_ptr<PluginRows>> PluginRows::open(Db& db) {
    std::optional<Transaction> own;  // only when the caller has none open
    if (!in_transaction(db)) {
        own.emplace(db);
        if (!own->began()) return own->begin_status().error();
    }
    if (auto ok = db.exec(kSchema); !ok) return ok.error();
    if (own)
        if (auto ok = own->commit(); !ok) return ok.error();
    return std::unique_ptr<PluginRows>{new PluginRows{db}};
}

PluginRows::PluginRows(Db& db) : sql_(std::make_unique<Statements>(db)) {}
PluginRows::~PluginRows() = default;

Result<std::vector<std::pair<std::string, std::string>>> PluginRows::read(std::string_view plugin) {
    Statement& s = sql_->read;
    s.bind(1, plugin);
    std::vector<std::pair<std::string, std::string>> rows;
    for (;;) {
        auto row = s.step();
        if (!row) {
            s.reset();
            return row.error();
        }
        if (!*row) break;
        rows.emplace_back(std::string{s.text(0)}, std::string{s.text(1)});
    }
    s.reset();
    return rows;
}

Result<std::map<std::string, std::vector<std::pair<std::string, std::string>>>> PluginRows::read_all() {
    Statement& s = sql_->read_all;
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> plugins;
    for (;;) {
        auto row = s.step();
        if (!row) {
            s.reset();
            return row.error();
        }
        if (!*row) break;
        plugins[std::string{s.text(0)}].emplace_back(std::string{s.text(1)}, std::string{s.text(2)});
    }
    s.reset();
    return plugins;
}

Status PluginRows::put(std::string_view plugin, std::string_view key, std::string_view value) {
    return sql_->put.bind(1, plugin).bind(2, key).bind(3, value).run();
}

Status PluginRows::erase(std::string_view plugin, std::string_view key) {
    return sql_->erase.bind(1, plugin).bind(2, key).run();
}

}  // namespace adashta::store
