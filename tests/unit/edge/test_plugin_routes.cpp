#include <catch2/catch.hpp>

#include <string>

#include "adashta/json.hpp"
#include "plugin_routes.hpp"

using namespace adashta;
using namespace adashta::edge;

TEST_CASE("a route request reaches on_http as JSON: query decoded, header names lower-case",
          "[plugin_routes]") {
    HttpRequest r;
    r.method = "POST";
    r.target = "/plugins/charts/api/points?since=10&name=a+b%2Fc&flag&name=last&bad=%zz";
    r.headers = {{"Content-Type", "application/json"}, {"X-Many", "1"}, {"x-many", "2"}};
    r.body = R"({"x":"é"})";
    const std::string text = PluginRoutes::request_json(r, "/api/points");
    auto object = json::ObjectView::parse(text);
    REQUIRE(object);
    CHECK(object->string("method") == "POST");
    CHECK(object->string("path") == "/api/points");
    CHECK(object->string("body") == r.body);
    auto query = json::ObjectView::parse(*object->raw("query"));
    REQUIRE(query);
    CHECK(query->string("since") == "10");
    CHECK(query->string("name") == "last");  // the later of two
    CHECK(query->string("flag") == "");
    CHECK(query->string("bad") == "%zz");
    auto headers = json::ObjectView::parse(*object->raw("headers"));
    REQUIRE(headers);
    CHECK(headers->string("content-type") == "application/json");
    CHECK(headers->string("x-many") == "1, 2");

    r.target = "/plugins/charts/x?name=a+b%2Fc";
    const std::string other = PluginRoutes::request_json(r, "/x");  // the views below read it
    query = json::ObjectView::parse(*json::ObjectView::parse(other)->raw("query"));
    REQUIRE(query);
    CHECK(query->string("name") == "a b/c");
}

TEST_CASE("only plugin paths with the route methods get a body read", "[plugin_routes]") {
    HttpRequest r;
    r.target = "/plugins/p/x";
    for (const char* method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
        r.method = method;
        CHECK(PluginRoutes::max_body(r) == PluginRoutes::kMaxBody);
    }
    r.method = "TRACE";
    CHECK(PluginRoutes::max_body(r) == 0);
    r.method = "POST";
    r.target = "/ws";
    CHECK(PluginRoutes::max_body(r) == 0);
    CHECK(PluginRoutes::owns("/plugins/x"));
    CHECK_FALSE(PluginRoutes::owns("/pluginsx"));
}
