#include "plugin_routes.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "adashta/json.hpp"
#include "static_files.hpp"
#include "ws_frames.hpp"

namespace adashta::edge {

namespace {

constexpr std::string_view kText = "text/plain; charset=utf-8";

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view text) {
    std::string out{text};
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A query string's part: %XX decoded and + as a space (a broken %XX stays as it is).
std::string form_decoded(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

// Pairs of names and values in order; a later one of the same name replaces the value.
using Pairs = std::vector<std::pair<std::string, std::string>>;

void put(Pairs& pairs, std::string name, std::string value, bool join) {
    for (auto& [n, v] : pairs) {
        if (n != name) continue;
        if (join) {
            v += ", ";
            v += value;
        } else {
            v = std::move(value);
        }
        return;
    }
    pairs.emplace_back(std::move(name), std::move(value));
}

void append_object(std::string& out, const Pairs& pairs) {
    out += '{';
    bool first = true;
    for (const auto& [name, value] : pairs) {
        if (!first) out += ',';
        first = false;
        json::append_quoted(out, name);
        out += ':';
        json::append_quoted(out, value);
    }
    out += '}';
}

// RFC 9110 5.6.2 tchar: what a header name a plugin sets may hold.
bool is_token(std::string_view text) {
    constexpr std::string_view kMarks = "!#$%&'*+-.^_`|~";
    return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               kMarks.find(c) != std::string_view::npos;
    });
}

bool is_field_value(std::string_view text) {
    return std::none_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

// The headers the edge writes itself: a plugin's are dropped.
bool edge_owned(std::string_view name) {
    return name == "content-length" || name == "transfer-encoding" || name == "connection" ||
           name == "content-type";
}

bool allowed_method(std::string_view method) {
    return std::find(PluginRoutes::kMethods.begin(), PluginRoutes::kMethods.end(), method) !=
           PluginRoutes::kMethods.end();
}

}  // namespace

PluginRoutes::PluginRoutes(ChainSource chain, Post post,
                           const std::unordered_set<ClientSocket*>& sockets)
    : post_(std::move(post)), sockets_(sockets), chain_(std::move(chain)) {}

std::size_t PluginRoutes::max_body(const HttpRequest& request) {
    return owns(request.path()) && allowed_method(request.method) ? kMaxBody : 0;
}

std::string PluginRoutes::request_json(const HttpRequest& request, std::string_view rest) {
    Pairs query;
    const auto mark = request.target.find('?');
    std::string_view q = mark == std::string::npos ? std::string_view{}
                                                   : std::string_view{request.target}.substr(mark + 1);
    while (!q.empty()) {
        const auto amp = q.find('&');
        const std::string_view part = q.substr(0, amp);
        if (!part.empty()) {
            const auto eq = part.find('=');
            put(query, form_decoded(part.substr(0, eq)),
                eq == std::string_view::npos ? std::string{} : form_decoded(part.substr(eq + 1)),
                false);
        }
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    Pairs headers;
    for (const auto& [name, value] : request.headers) put(headers, lowered(name), value, true);

    std::string out;
    out.reserve(128 + request.target.size() + request.body.size());
    out += "{\"method\":";
    json::append_quoted(out, request.method);
    out += ",\"path\":";
    json::append_quoted(out, rest);
    out += ",\"query\":";
    append_object(out, query);
    out += ",\"headers\":";
    append_object(out, headers);
    out += ",\"body\":";
    json::append_quoted(out, request.body);
    out += '}';
    return out;
}

void PluginRoutes::serve(ClientSocket& socket, const HttpRequest& request) {
    const std::string_view path = request.path();
    std::string_view after = path.substr(kPrefix.size());
    const auto slash = after.find('/');
    const std::string name{after.substr(0, slash)};
    const std::string_view rest = slash == std::string_view::npos ? "/" : after.substr(slash);
    const auto close = [&](int status, const std::string& body, std::string_view extra = {}) {
        // The request's body may not have been read: the connection ends after the answer.
        socket.respond(status, kText, body, extra, true);
    };
    const auto plain = [&](int status, const std::string& body) {
        socket.respond(status, kText, body, "Cache-Control: no-cache\r\n");
    };
    if (!allowed_method(request.method))
        return close(405, "the plugin routes take GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS\n",
                     "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n");

    std::shared_ptr<plugins::Chain> chain = chain_ ? chain_() : nullptr;
    const plugins::PluginInstance* plugin = chain ? chain->find(name) : nullptr;
    if (!plugin)
        return plain(404, name.empty() ? std::string{"a plugin route is /plugins/NAME/...\n"}
                                       : "no plugin " + name + " is loaded\n");
    const plugins::Manifest& manifest = plugin->manifest();

    // A file of its assets first.
    const bool reads = request.method == "GET" || request.method == "HEAD";
    if (reads && !manifest.assets.empty()) {
        std::error_code ec;
        const auto root = std::filesystem::canonical(manifest.folder / manifest.assets, ec);
        if (!ec)
            if (auto file = resolve_static(root, rest)) {
                const std::string file_name = file->string();
                if (socket.respond_file(file_name, mime_type(file_name))) return;
            }
    }
    const std::string what = request.method + " " + std::string{rest};
    if (!manifest.has_hook(plugins::Hook::on_http)) {
        if (manifest.assets.empty())
            return plain(404, "plugin " + name + " serves no routes and no assets\n");
        return plain(404, "plugin " + name + " has no file " + std::string{rest} +
                              " in its assets (" + manifest.assets + "/), and no on_http hook\n");
    }
    if (!ws::valid_utf8(request.body))
        return close(400, "a plugin route takes a text body (UTF-8)\n");

    plugins::CallText call{plugins::Hook::on_http, request_json(request, rest), {}, {}};
    socket.defer_answer();
    ClientSocket* target = &socket;
    const std::uint64_t id = socket.id();
    chain->call_one(name, std::move(call),
                    [this, target, id, name, what](plugins::Outcome outcome) mutable {
                        post_([this, target, id, name = std::move(name), what = std::move(what),
                               outcome = std::move(outcome)]() mutable {
                            answer(target, id, name, what, std::move(outcome));
                        });
                    });
}

void PluginRoutes::answer(ClientSocket* socket, std::uint64_t id, const std::string& name,
                          const std::string& what, plugins::Outcome outcome) {
    // The client may have gone while the plugin ran (and its socket's address be reused).
    if (!sockets_.contains(socket) || socket->id() != id || !socket->answer_deferred()) return;
    constexpr std::string_view kNoCache = "Cache-Control: no-cache\r\n";
    if (outcome.failure != plugins::Failure::none) {
        if (outcome.error == "disabled")
            return socket->respond(503, kText,
                                   "plugin " + name +
                                       " is disabled after failing again and again: fix it and "
                                       "reload it (adashta plugin reload)\n",
                                   kNoCache);
        return socket->respond(500, kText, "plugin " + name + " failed: " + outcome.error + "\n",
                               kNoCache);
    }
    const auto& data = outcome.verdict.data;
    if (!data) return socket->respond(404, kText, "plugin " + name + " has no route " + what + "\n", kNoCache);

    // {"status":N,"headers":{...},"body":"..."}, as the runtimes make it (hooks.hpp).
    const auto bad = [&](std::string_view why) {
        socket->respond(500, kText, "plugin " + name + " failed: on_http: " + std::string{why} + "\n",
                        kNoCache);
    };
    auto object = json::ObjectView::parse(*data);
    if (!object) return bad("its answer is not an object");
    const auto status = object->has("status") ? object->integer("status") : std::optional<std::int64_t>{200};
    if (!status || *status < 200 || *status > 599) return bad("status must be an integer from 200 to 599");
    std::string body;
    if (object->has("body")) {
        auto text = object->string("body");
        if (!text) return bad("body must be a string");
        body = std::move(*text);
    }
    std::string content_type{kText};
    std::string extra;
    if (auto raw = object->raw("headers")) {
        auto headers = json::ObjectView::parse(*raw);
        if (!headers) return bad("headers must be an object of names to values");
        for (const auto& [key, value_raw] : headers->members()) {
            auto value = json::unquote(value_raw);
            if (!value) return bad("header " + key + " must be a string");
            const std::string header = lowered(key);
            if (!is_token(header)) return bad("\"" + key + "\" is not a header name");
            if (!is_field_value(*value)) return bad("header " + key + " holds control characters");
            if (header == "content-type") content_type = std::move(*value);
            if (edge_owned(header)) continue;  // the edge's own: dropped quietly
            extra += header;
            extra += ": ";
            extra += *value;
            extra += "\r\n";
        }
    }
    if (*status == 204 || *status == 304) body.clear();
    socket->respond(static_cast<int>(*status), content_type, body, extra);
}

}  // namespace adashta::edge
