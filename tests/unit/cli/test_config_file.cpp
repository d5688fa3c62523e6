#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "args.hpp"
#include "config_file.hpp"
#include "temp_dir.hpp"

using namespace adashta;
using namespace adashta::cli;

namespace {

using adashta::test::TempDir;

constexpr Flag kFlags[] = {
    {"http", true},
    {"max-outbox", true},
    {"seeds", true, true},
    {"durable", false},
    {"name", true, false, {}, "ADASHTA_EDGE_NAME"},
    {"config", true, false, "-"},
    {"help", false, false, "-", "-"},
};

Args parse(std::vector<std::string> words) {
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    auto args = parse_args(static_cast<int>(argv.size()), argv.data(), kFlags, "edge");
    REQUIRE(args);
    return *args;
}

std::string write(const TempDir& dir, const std::string& text) {
    const auto path = (dir.path / "adashta.json").string();
    std::ofstream{path} << text;
    return path;
}

// Sets a variable for one scope: tests must not leak ADASHTA_* into each other.
struct ScopedEnv {
    std::string name;
    ScopedEnv(std::string n, const char* value) : name(std::move(n)) {
        ::setenv(name.c_str(), value, 1);
    }
    ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("a flag's key is its camelCase, its variable ADASHTA_ and upper snake case",
          "[config]") {
    CHECK(config_key(kFlags[1]) == "maxOutbox");
    CHECK(env_variable(kFlags[1]) == "ADASHTA_MAX_OUTBOX");
    CHECK(config_key(kFlags[0]) == "http");
    CHECK(env_variable(kFlags[4]) == "ADASHTA_EDGE_NAME");  // the row names its own
    CHECK(config_key(kFlags[5]).empty());                  // "-": none
    CHECK(env_variable(kFlags[5]) == "ADASHTA_CONFIG");
    CHECK(env_variable(kFlags[6]).empty());
}

TEST_CASE("an unknown flag names the command and the nearest flag", "[args]") {
    std::string bad = "--htp";
    char* argv[] = {bad.data()};
    auto args = parse_args(1, argv, kFlags, "edge");
    REQUIRE_FALSE(args);
    CHECK(args.error().code == Errc::bad_option);
    CHECK(args.error().detail ==
          "unknown flag --htp for `adashta edge` (did you mean --http?); see adashta edge --help");
    const std::string_view names[] = {"http", "mesh"};
    CHECK_FALSE(nearest("colour", names));
}

TEST_CASE("a flag without its value says which flag, also before another flag", "[args]") {
    std::string data = "--data", durable = "--durable";
    constexpr Flag flags[] = {{"data", true}, {"durable", false}};
    char* argv[] = {data.data(), durable.data()};
    auto args = parse_args(2, argv, flags, "edge");
    REQUIRE_FALSE(args);
    CHECK(args.error().detail == "--data needs a value after it; see adashta edge --help");
}

TEST_CASE("a flag wins over the environment, which wins over the file", "[config]") {
    TempDir dir;
    const auto path = write(dir, R"({"http": "127.0.0.1:1", "maxOutbox": 70000, "durable": true,
                                     "seeds": ["tcp://a:1", "tcp://b:2"], "name": "from-file"})");
    ScopedEnv http{"ADASHTA_HTTP", "127.0.0.1:2"};
    ScopedEnv outbox{"ADASHTA_MAX_OUTBOX", "80000"};
    ScopedEnv durable{"ADASHTA_DURABLE", "off"};
    ScopedEnv node_name{"ADASHTA_NAME", "a-node"};  // the SDKs', not the edge's
    Args args = parse({"--max-outbox", "90000"});
    CHECK(add_environment(args).empty());
    CHECK(add_config_file(args, path).empty());
    CHECK(args.value("http") == "127.0.0.1:2");
    CHECK(args.origin("http") == "ADASHTA_HTTP");
    CHECK(args.value("max-outbox") == "90000");
    CHECK(args.origin("max-outbox") == "--max-outbox");
    CHECK_FALSE(args.has("durable"));  // the variable turned off what the file turned on
    CHECK(args.value("seeds") == "tcp://a:1,tcp://b:2");
    CHECK(args.value("name") == "from-file");
    CHECK(args.origin("name") == path + ": name");
}

TEST_CASE("a number out of range names where it came from, the value and the range", "[config]") {
    TempDir dir;
    const auto path = write(dir, R"({"maxOutbox": 5})");
    Args args = parse({});
    REQUIRE(add_config_file(args, path).empty());
    auto n = args.number("max-outbox", 0, 65536, 1 << 30);
    REQUIRE_FALSE(n);
    CHECK(n.error().detail == path +
                                  ": maxOutbox: 5 is out of range; allowed: a whole number from "
                                  "65536 to 1073741824");

    ScopedEnv outbox{"ADASHTA_MAX_OUTBOX", "lots"};
    Args from_env = parse({});
    REQUIRE(add_environment(from_env).empty());
    auto m = from_env.number("max-outbox", 0, 65536, 1 << 30);
    REQUIRE_FALSE(m);
    CHECK(m.error().detail.starts_with("ADASHTA_MAX_OUTBOX: \"lots\" is not a whole number"));
}

TEST_CASE("each problem of a file is a line that names the file and the key", "[config]") {
    TempDir dir;
    const auto path =
        write(dir, R"({"maxOutbx": 1, "durable": "yes", "seeds": 5, "http": {}, "http": 1})");
    Args args = parse({});
    const auto problems = add_config_file(args, path);
    REQUIRE(problems.size() == 5);
    CHECK(problems[0].starts_with(
        path + ": maxOutbx: unknown key (did you mean maxOutbox?); allowed: queues, auth, plugins, http,"));
    CHECK(problems[1] == path + ": durable: \"yes\" is not a switch; allowed: true or false");
    CHECK(problems[2].starts_with(path + ": seeds: 5 is not a list; allowed: an array of strings"));
    CHECK(problems[3] == path + ": http: {} is not a single value; allowed: a string or a number");
    CHECK(problems[4] == path + ": http: appears twice; keep one");
    for (const auto& p : problems) CHECK(p.find('\n') == std::string::npos);
}

TEST_CASE("JSON that breaks is reported with its line and column", "[config]") {
    TempDir dir;
    const auto path = write(dir, "{\n  \"http\": \"127.0.0.1:1\"\n  \"mesh\": 1}");
    Args args = parse({});
    const auto problems = add_config_file(args, path);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == path + ": not valid JSON at line 3, column 3: expected ',' or '}'");
    CHECK(line_and_column("ab\ncd", 4) == "line 2, column 2");
    CHECK(line_and_column("ab", 0) == "line 1, column 1");
}

TEST_CASE("the edge's own keys are left to the edge, and no file is no problem", "[config]") {
    TempDir dir;
    Args args = parse({});
    CHECK(add_config_file(args, write(dir, R"({"queues": {"x": 1}, "auth": 5})")).empty());
    CHECK(add_config_file(args, "").empty());
    const auto missing = add_config_file(args, (dir.path / "nope.json").string());
    REQUIRE(missing.size() == 1);
    CHECK(missing[0].find("nope.json: does not exist; create it") != std::string::npos);
}
