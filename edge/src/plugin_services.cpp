#include "plugin_services.hpp"

#include "adashta/json.hpp"
#include "adashta/names.hpp"
#include "http_server.hpp"
#include "plugin_state.hpp"
#include "router.hpp"

namespace adashta::edge {

void EdgeServices::produce(plugins::PluginProduce m, std::function<void(const Status&)> done) {
    auto refuse = [&](Errc code, std::string detail) {
        if (done) done(make_error(code, "plugin " + m.plugin + ": " + detail));
    };
    if (!is_valid_queue_name(m.queue))
        return refuse(Errc::bad_queue, "cannot produce to \"" + m.queue.substr(0, 80) +
                                           "\": a queue name is 1 to 128 of A-Z a-z 0-9 . _ : / -");
    if (m.data.size() > kMaxPluginMessage)
        return refuse(Errc::message_too_large,
                      "a message of " + std::to_string(m.data.size()) + " bytes; at most " +
                          std::to_string(kMaxPluginMessage) + " bytes");
    if (!json::is_valid(m.data)) return refuse(Errc::bad_data, "its data is not JSON");
    if (!m.to.empty() && !m.user.empty())
        return refuse(Errc::bad_frame, "give \"to\" or \"user\", not both");
    if (m.to_server)
        http_.plugin_produce(std::move(m), std::move(done));
    else
        router_.plugin_produce(std::move(m), std::move(done));
}

Result<std::vector<std::pair<std::string, std::string>>> EdgeServices::load_state(
    const std::string& plugin) {
    if (!state_) return make_error(Errc::storage_failed, "the edge keeps no plugin state yet");
    return state_->load(plugin);
}

void EdgeServices::save_state(const std::string& plugin, std::string key,
                              std::optional<std::string> value) {
    if (state_) state_->save(plugin, std::move(key), std::move(value));
}

}  // namespace adashta::edge
