#include "plugin_state.hpp"

#include <cassert>
#include <future>

#include "adashta/log.hpp"

namespace adashta::edge {

PluginState::~PluginState() { wait_written(); }

void PluginState::wait_written() {
    assert(!store_.on_store_thread() && "PluginState::wait_written on the store thread waits forever");
    std::unique_lock lock(mutex_);
    written_.wait(lock, [&] { return !writing_; });
}

Status PluginState::preload() {
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> all;
    const Status read = store_.read_before_start([&](store::Tx& tx) -> Status {
        auto rows = tx.plugin_rows.read_all();
        if (!rows) return rows.error();
        all = std::move(*rows);
        return {};
    });
    if (!read) return read;
    std::lock_guard lock(mutex_);
    for (auto& [plugin, rows] : all) {
        Keys& keys = plugins_[plugin];
        for (auto& [key, value] : rows) keys.emplace(std::move(key), std::move(value));  // saves win
    }
    // Saves made before this (none, in the edge) are in plugins_ already, or in early_.
    for (auto& [plugin, changes] : early_) {
        Keys& keys = plugins_[plugin];
        for (auto& [key, value] : changes) {
            if (value) keys.insert_or_assign(key, std::move(*value));
            else keys.erase(key);
        }
    }
    early_.clear();
    preloaded_ = true;
    return {};
}

Result<std::vector<std::pair<std::string, std::string>>> PluginState::load(const std::string& plugin) {
    const auto copy = [](const Keys& keys) {
        return std::vector<std::pair<std::string, std::string>>(keys.begin(), keys.end());
    };
    {
        std::lock_guard lock(mutex_);
        if (auto it = plugins_.find(plugin); it != plugins_.end()) return copy(it->second);
        if (preloaded_) return copy(plugins_[plugin]);  // no keys in the store
    }
    assert(!store_.on_store_thread() && "PluginState::load on the store thread waits forever");
    auto rows = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
    auto answered = std::make_shared<std::promise<Status>>();
    auto answer = answered->get_future();
    store_.read(
        [plugin, rows](store::Tx& tx) -> Status {
            auto read = tx.plugin_rows.read(plugin);
            if (!read) return read.error();
            *rows = std::move(*read);
            return {};
        },
        [answered](const Status& status) { answered->set_value(status); });
    if (const Status status = answer.get(); !status) return status.error();

    std::lock_guard lock(mutex_);
    // Another thread may have loaded it meanwhile: its copy has every save since.
    if (auto it = plugins_.find(plugin); it != plugins_.end()) return copy(it->second);
    Keys keys(std::make_move_iterator(rows->begin()), std::make_move_iterator(rows->end()));
    if (auto early = early_.find(plugin); early != early_.end()) {
        for (auto& [key, value] : early->second) {
            if (value) keys.insert_or_assign(key, std::move(*value));
            else keys.erase(key);
        }
        early_.erase(early);
    }
    return copy(plugins_.emplace(plugin, std::move(keys)).first->second);
}

void PluginState::save(const std::string& plugin, std::string key, std::optional<std::string> value) {
    bool start = false;
    {
        std::lock_guard lock(mutex_);
        if (auto it = plugins_.find(plugin); it != plugins_.end() || preloaded_) {
            Keys& keys = it != plugins_.end() ? it->second : plugins_[plugin];
            if (value) keys.insert_or_assign(key, *value);
            else keys.erase(key);
        } else {
            early_[plugin].insert_or_assign(key, value);
        }
        queued_.push_back(Change{plugin, std::move(key), std::move(value)});
        start = !std::exchange(writing_, true);
    }
    if (start) write_queued();
}

void PluginState::write_queued() {
    // The work takes the queue when the store runs it, so every save made until then goes
    // into this one write; done learns from taken how many it held (0: the work never ran).
    auto taken = std::make_shared<std::vector<Change>>();
    store_.write(
        [this, taken](store::Tx& tx) -> Status {
            {
                std::lock_guard lock(mutex_);
                taken->swap(queued_);
            }
            for (const Change& c : *taken) {
                const Status ok = c.value ? tx.plugin_rows.put(c.plugin, c.key, *c.value)
                                          : tx.plugin_rows.erase(c.plugin, c.key);
                if (!ok) return ok;  // the savepoint undoes the others: none of them is written
            }
            return {};
        },
        [this, taken](const Status& status) {
            std::size_t lost = taken->size();
            bool more = false;
            {
                std::lock_guard lock(mutex_);
                if (!status && taken->empty()) {
                    // The store refused without running the work (its file is gone): what
                    // is queued would fail the same way, again and again.
                    lost = queued_.size();
                    queued_.clear();
                }
                more = !queued_.empty();
                if (!more) writing_ = false;
            }
            if (!status)
                log::error("plugins", "the plugins' state: " + std::to_string(lost) +
                                          " changes could not be written (they stay in memory until the edge "
                                          "stops): " + status.error().to_string());
            if (more) write_queued();
            else written_.notify_all();
        });
}

}  // namespace adashta::edge
