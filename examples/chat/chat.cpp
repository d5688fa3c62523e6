// The chat server node: consumes the queue "chat", where browsers send {nick, text}, and
// broadcasts {nick, text, at} to every browser consuming "chat". It also announces who
// comes and goes on "chat.presence".
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 ./build/adashta-chat
#include <chrono>
#include <iostream>
#include <string>

#include "adashta/json.hpp"
#include "adashta/node.hpp"

namespace {

constexpr std::size_t kMaxNick = 32;
constexpr std::size_t kMaxText = 2000;

// A chat line from a browser: {"nick": "...", "text": "..."}; nullopt when it is not one.
std::optional<std::string> chat_line(const adashta::Message& m) {
    auto object = adashta::json::ObjectView::parse(m.data);
    if (!object) return std::nullopt;
    auto text = object->string("text");
    if (!text || text->empty() || text->size() > kMaxText) return std::nullopt;
    std::string nick = object->string("nick").value_or("");
    if (nick.empty()) nick = "guest";
    if (nick.size() > kMaxNick) nick.resize(kMaxNick);
    std::string out = "{\"nick\":";
    adashta::json::append_quoted(out, nick);
    out += ",\"text\":";
    adashta::json::append_quoted(out, *text);
    out += ",\"at\":" + std::to_string(m.created_ms) + "}";
    return out;
}

}  // namespace

int main() {
    adashta::Node node;  // options from ADASHTA_* environment variables
    auto consumed = node.consume("chat", [&node](const adashta::Message& m) {
        auto line = chat_line(m);
        if (!line) {
            (void)node.produce("chat.errors", R"({"error":"send {\"nick\":..., \"text\":...}"})",
                               {.to = m.client});
            return;
        }
        if (auto sent = node.produce("chat", *line); !sent)
            std::cerr << "chat: cannot broadcast: " << sent.error().to_string() << "\n";
    });
    if (!consumed) {
        std::cerr << "chat: " << consumed.error().to_string() << "\n";
        return 1;
    }
    node.on_connection([&node](const adashta::ClientEvent& e) {
        if (!e.resumed) (void)node.produce("chat.presence", R"({"event":"joined"})");
    });
    node.on_disconnection([&node](const adashta::ClientEvent&) {
        (void)node.produce("chat.presence", R"({"event":"left"})");
    });
    if (auto started = node.start(); !started) {
        std::cerr << "chat: " << started.error().to_string() << "\n";
        return 1;
    }
    std::cerr << "chat: consuming \"chat\" at " << node.endpoint() << "\n";
    adashta::wait_for_signal();
    return 0;
}
