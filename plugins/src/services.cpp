#include "adashta/plugins/services.hpp"

#include "adashta/names.hpp"

namespace adashta::plugins {

Status check_state_key(std::string_view api, std::string_view key) {
    if (key.empty() || key.size() > kMaxStateKeyBytes)
        return make_error(Errc::bad_option,
                          std::string{api} + ": a key is 1 to " + std::to_string(kMaxStateKeyBytes) +
                              " bytes, not " + std::to_string(key.size()));
    return {};
}

Status check_state_write(std::string_view key, const std::optional<std::string>& value,
                         std::size_t keys_held, bool key_is_new) {
    if (auto ok = check_state_key("adashta.state.set", key); !ok) return ok;
    if (!value) return {};
    if (value->size() > kMaxStateValueBytes)
        return make_error(Errc::bad_option,
                          "adashta.state.set: a value is at most " + std::to_string(kMaxStateValueBytes >> 10) +
                              " KiB of JSON, this one is " + std::to_string(value->size()) +
                              " bytes: keep large data in messages, or split it over keys");
    if (key_is_new && keys_held >= kMaxStateKeys)
        return make_error(Errc::bad_option,
                          "adashta.state.set: the plugin holds " + std::to_string(keys_held) +
                              " keys, the most a plugin may: delete some first (adashta.state.delete)");
    return {};
}

Status check_produce(const PluginProduce& m) {
    if (!is_valid_queue_name(m.queue))
        return make_error(Errc::bad_queue, "adashta.produce: the queue \"" + m.queue.substr(0, 64) +
                                               "\" is not a queue name ([A-Za-z0-9._:/-], 1 to 128 bytes)");
    if (m.data.size() > kMaxProduceBytes)
        return make_error(Errc::message_too_large,
                          "adashta.produce: the data is " + std::to_string(m.data.size()) +
                              " bytes of JSON, a plugin produces at most " +
                              std::to_string(kMaxProduceBytes >> 20) + " MiB");
    if (m.delay_ms < 0 || m.delay_ms > kMaxProduceDelayMs)
        return make_error(Errc::bad_timeout, "adashta.produce: delayMs is 0 to " +
                                                 std::to_string(kMaxProduceDelayMs) + " (365 days), not " +
                                                 std::to_string(m.delay_ms));
    if (m.to_server && (!m.to.empty() || !m.user.empty()))
        return make_error(Errc::bad_option,
                          "adashta.produce: toServer goes to the queue's server nodes; to and user name "
                          "browsers: give one or the other");
    if (!m.to_server && !m.session.empty())
        return make_error(Errc::bad_option,
                          "adashta.produce: session picks a server node and needs toServer = true");
    return {};
}

}  // namespace adashta::plugins
