// What the edge serves under /plugins/NAME/ (docs/plugins.md, "Routes and assets"): for
// /plugins/NAME/REST, a file of the plugin's "assets" folder (GET and HEAD), else the answer
// of its on_http hook (any of kMethods, with a Content-Length body up to kMaxBody), else 404
// saying what the plugin has. A plugin that is not loaded: 404 "no plugin NAME is loaded".
//
//   PluginRoutes routes{[&] { return chain; }, [&](auto fn) { server.post(std::move(fn)); }, sockets};
//   if (PluginRoutes::owns(request.path())) return routes.serve(socket, request);
//
// A hook call goes straight to that one plugin (Chain::call_one, counted in its stats),
// never through the chain walk. Its answer comes on the plugin's thread and is handed back
// to the HTTP thread through post; the socket may be gone by then (it is looked up in the
// server's set of sockets, by address and ClientSocket::id). The socket defers its answer
// meanwhile, so the requests after it on the connection wait, in order.
//
// Threads: everything here on the HTTP thread, but the hook's done callback, which only
// posts. Outlives no HttpServer: it is one of its members, and the chain it calls must be
// unloaded before the server goes (the plugins' last answers post to it).
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "adashta/plugins/chain.hpp"
#include "client_socket.hpp"
#include "http_request.hpp"

namespace adashta::edge {

class PluginRoutes {
public:
    using ChainSource = std::function<std::shared_ptr<plugins::Chain>()>;
    using Post = std::function<void(std::function<void()>)>;

    static constexpr std::string_view kPrefix = "/plugins/";
    // The largest request body a route takes (413 past it).
    static constexpr std::size_t kMaxBody = 1u << 20;
    static constexpr std::array<std::string_view, 7> kMethods{"GET",   "HEAD",   "POST",   "PUT",
                                                              "PATCH", "DELETE", "OPTIONS"};

    // chain gives the plugins loaded now, asked on the HTTP thread at every request (a
    // reload may change it; null: none, every plugin path is 404 "no plugin NAME is
    // loaded"). post runs work on the HTTP thread (HttpServer::post); sockets is the
    // server's set of live sockets (read on the HTTP thread only).
    PluginRoutes(ChainSource chain, Post post, const std::unordered_set<ClientSocket*>& sockets);

    // Whether path is one of the plugin routes' (under /plugins/).
    static bool owns(std::string_view path) { return path.starts_with(kPrefix); }
    // The largest body the socket reads for request: kMaxBody for a plugin path and one of
    // kMethods, else 0.
    static std::size_t max_body(const HttpRequest& request);
    // Answers request (a path owns() takes) now, or defers the socket's answer until the
    // plugin's hook answered.
    void serve(ClientSocket& socket, const HttpRequest& request);

    // The request as on_http's argument (JSON text, hooks.hpp "on_http"); rest is the path
    // after /plugins/NAME. Public for the tests.
    static std::string request_json(const HttpRequest& request, std::string_view rest);

private:
    // The hook's outcome, on the HTTP thread, for the socket (if it is still there).
    void answer(ClientSocket* socket, std::uint64_t id, const std::string& name,
                const std::string& what, plugins::Outcome outcome);

    Post post_;                                        // to the HTTP thread
    const std::unordered_set<ClientSocket*>& sockets_; // the server's (HTTP thread)
    ChainSource chain_;                                // the plugins now loaded
};

}  // namespace adashta::edge
