#include "adashta/plugins/package_tests.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "adashta/plugins/lua_plugin.hpp"
#include "adashta/plugins/manifest.hpp"
#include "adashta/plugins/services.hpp"

namespace adashta::plugins {

namespace fs = std::filesystem;

namespace {

std::string to_text(const rapidjson::Value& v) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    v.Accept(w);
    return {buffer.GetString(), buffer.GetSize()};
}

std::optional<Hook> hook_named(std::string_view name) {
    for (std::size_t i = 0; i < kHookCount; ++i)
        if (hook_name(static_cast<Hook>(i)) == name) return static_cast<Hook>(i);
    return std::nullopt;
}

std::string_view kind_name(Verdict::Kind kind) {
    switch (kind) {
        case Verdict::Kind::pass: return "pass";
        case Verdict::Kind::drop: return "drop";
        case Verdict::Kind::reject: return "reject";
    }
    return "pass";
}

// The services a package's tests run with: what the plugin produces is recorded for the
// cases to check ("expect.produced"), its state kept in memory from tests.json's "state"
// ("expect.state" checks it). One thread: the test's.
struct RecordingServices final : PluginServices {
    std::vector<PluginProduce> produced;        // every produce of the run, in order
    std::map<std::string, std::string> state;  // key → JSON text
    void produce(PluginProduce message, std::function<void(const Status&)> done) override {
        produced.push_back(std::move(message));
        if (done) done({});
    }
    Result<std::vector<std::pair<std::string, std::string>>> load_state(const std::string&) override {
        return std::vector<std::pair<std::string, std::string>>(state.begin(), state.end());
    }
    void save_state(const std::string&, std::string key, std::optional<std::string> value) override {
        if (value) state.insert_or_assign(std::move(key), std::move(*value));
        else state.erase(key);
    }
};

bool json_equal(std::string_view text, const rapidjson::Value& want) {
    rapidjson::Document actual;
    actual.Parse(text.data(), text.size());
    return !actual.HasParseError() && actual == want;
}

// expect.produced: the messages the case produced, in order, each {queue, data, and the
// options it names: to, user, toServer, session, delayMs}. Empty: they match.
std::string check_produced(const rapidjson::Value& want, const std::vector<PluginProduce>& got) {
    if (!want.IsArray()) return "expect.produced must be an array of messages like {\"queue\": \"q\", \"data\": ...}";
    if (want.Size() != got.size())
        return "expected " + std::to_string(want.Size()) + " produced messages, got " + std::to_string(got.size()) +
               (got.empty() ? "" : " (the first to " + got.front().queue + ": " + got.front().data + ")");
    for (rapidjson::SizeType i = 0; i < want.Size(); ++i) {
        const rapidjson::Value& w = want[i];
        const PluginProduce& g = got[i];
        const std::string at = "produced[" + std::to_string(i) + "]";
        if (!w.IsObject()) return "expect." + at + " must be an object";
        if (w.HasMember("queue") && (!w["queue"].IsString() || g.queue != w["queue"].GetString()))
            return at + ": expected queue " + to_text(w["queue"]) + ", got \"" + g.queue + "\"";
        if (w.HasMember("data") && !json_equal(g.data, w["data"]))
            return at + ": expected data " + to_text(w["data"]) + ", got " + g.data;
        for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"to", &g.to},
                                         {"user", &g.user}, {"session", &g.session}})
            if (w.HasMember(key) && (!w[key].IsString() || *value != w[key].GetString()))
                return at + ": expected " + key + " " + to_text(w[key]) + ", got \"" + *value + "\"";
        if (w.HasMember("toServer") && (!w["toServer"].IsBool() || g.to_server != w["toServer"].GetBool()))
            return at + ": expected toServer " + to_text(w["toServer"]);
        if (w.HasMember("delayMs") && (!w["delayMs"].IsInt64() || g.delay_ms != w["delayMs"].GetInt64()))
            return at + ": expected delayMs " + to_text(w["delayMs"]) + ", got " + std::to_string(g.delay_ms);
    }
    return {};
}

// expect.state: {key: value} after the case (null: the key is not there).
std::string check_state(const rapidjson::Value& want, const std::map<std::string, std::string>& state) {
    if (!want.IsObject()) return "expect.state must be an object of keys and values (null: no such key)";
    for (const auto& m : want.GetObject()) {
        const std::string key{m.name.GetString(), m.name.GetStringLength()};
        const auto it = state.find(key);
        if (m.value.IsNull()) {
            if (it != state.end()) return "expected no state key \"" + key + "\", it holds " + it->second;
        } else if (it == state.end()) {
            return "expected state key \"" + key + "\" to hold " + to_text(m.value) + ", it is not there";
        } else if (!json_equal(it->second, m.value)) {
            return "expected state key \"" + key + "\" to hold " + to_text(m.value) + ", it holds " + it->second;
        }
    }
    return {};
}

// One case, ready to call: texts owned here, the call's views point into them.
struct PreparedCase {
    std::string name;     // for the report
    Hook hook{};          // which hook
    std::string subject;  // Call::subject
    std::string data;     // Call::data
    std::string context;  // Call::context
    const rapidjson::Value* expect = nullptr;  // the case's "expect"
};

Result<PreparedCase> prepare(const rapidjson::Value& c, std::size_t i, const std::string& file) {
    const std::string at = file + ": cases[" + std::to_string(i) + "]";
    if (!c.IsObject()) return make_error(Errc::bad_plugin, at + " is not an object");
    PreparedCase out;
    out.name = c.HasMember("name") && c["name"].IsString() ? c["name"].GetString() : "case " + std::to_string(i + 1);
    if (!c.HasMember("hook") || !c["hook"].IsString())
        return make_error(Errc::bad_plugin, at + ".hook is missing: name the hook the case calls, e.g. \"on_message\"");
    auto hook = hook_named(c["hook"].GetString());
    if (!hook) return make_error(Errc::bad_plugin, at + ".hook \"" + std::string{c["hook"].GetString()} +
                                                       "\" is not a hook (on_connect, on_disconnect, on_message, "
                                                       "on_deliver, on_produce)");
    out.hook = *hook;
    if (!c.HasMember("expect") || !c["expect"].IsObject() || !c["expect"].HasMember("verdict") ||
        !c["expect"]["verdict"].IsString())
        return make_error(Errc::bad_plugin, at + ".expect.verdict is missing: \"pass\", \"drop\" or \"reject\"");
    out.expect = &c["expect"];
    const std::string verdict = (*out.expect)["verdict"].GetString();
    if (verdict != "pass" && verdict != "drop" && verdict != "reject")
        return make_error(Errc::bad_plugin, at + ".expect.verdict is \"" + verdict + "\", not pass, drop or reject");
    const bool about_client = out.hook == Hook::on_connect || out.hook == Hook::on_disconnect;
    if (about_client) {
        out.subject = c.HasMember("client") ? to_text(c["client"]) : "{}";
        if (c.HasMember("context")) out.context = to_text(c["context"]);
        return out;
    }
    if (!c.HasMember("message") || !c["message"].IsObject())
        return make_error(Errc::bad_plugin, at + ".message is missing: the message the hook gets, e.g. "
                                                 "{\"queue\":\"chat\",\"data\":{\"text\":\"hi\"}}");
    // The hook sees the message's data apart from the rest of it, as the edge hands it over.
    rapidjson::Document subject;
    subject.SetObject();
    for (const auto& m : c["message"].GetObject()) {
        if (std::string_view{m.name.GetString()} == "data") {
            out.data = to_text(m.value);
            continue;
        }
        subject.AddMember(rapidjson::Value{m.name, subject.GetAllocator()},
                          rapidjson::Value{m.value, subject.GetAllocator()}, subject.GetAllocator());
    }
    out.subject = to_text(subject);
    const char* context_key = out.hook == Hook::on_produce ? "node" : "client";
    if (c.HasMember(context_key)) out.context = to_text(c[context_key]);
    return out;
}

CaseResult judge(const PreparedCase& c, const Outcome& out, const std::vector<PluginProduce>& produced,
                 const std::map<std::string, std::string>& state) {
    CaseResult r{c.name, false, {}};
    if (out.failure != Failure::none) {
        r.detail = "the hook failed (" + std::string{failure_name(out.failure)} + "): " + out.error;
        return r;
    }
    const rapidjson::Value& expect = *c.expect;
    const std::string want = expect["verdict"].GetString();
    const Verdict& v = out.verdict;
    if (want != kind_name(v.kind)) {
        r.detail = "expected " + want + ", got " + std::string{kind_name(v.kind)} +
                   (v.reason.empty() ? "" : " (\"" + v.reason + "\")");
        return r;
    }
    if (expect.HasMember("data")) {
        const std::string got = v.data.value_or(c.data);
        rapidjson::Document actual;
        actual.Parse(got.c_str(), got.size());
        if (actual.HasParseError() || !(actual == expect["data"])) {
            r.detail = "expected data " + to_text(expect["data"]) + ", got " + (got.empty() ? "none" : got);
            return r;
        }
    }
    if (expect.HasMember("reason") && expect["reason"].IsString() && v.reason != expect["reason"].GetString()) {
        r.detail = "expected reason \"" + std::string{expect["reason"].GetString()} + "\", got \"" + v.reason + "\"";
        return r;
    }
    if (expect.HasMember("closeCode") && expect["closeCode"].IsInt() && v.close_code != expect["closeCode"].GetInt()) {
        r.detail = "expected close code " + std::to_string(expect["closeCode"].GetInt()) + ", got " +
                   std::to_string(v.close_code);
        return r;
    }
    if (expect.HasMember("produced")) r.detail = check_produced(expect["produced"], produced);
    if (r.detail.empty() && expect.HasMember("state")) r.detail = check_state(expect["state"], state);
    r.passed = r.detail.empty();
    return r;
}

}  // namespace

Result<TestReport> run_package_tests(const fs::path& folder) {
    auto manifest = read_manifest(folder);
    if (!manifest) return manifest.error();
    if (manifest->runtime != Runtime::lua)
        return make_error(Errc::bad_plugin, (folder / kManifestFile).string() +
                                                ": runtime is js; JavaScript plugins are tested by the JS plugin host");
    const fs::path file = folder / kPackageTestsFile;
    std::ifstream in(file);
    if (!in)
        return make_error(Errc::bad_plugin, "\"" + file.string() + "\" is missing: write the cases there "
                                                                   "(`adashta plugin new` makes one to start from)");
    std::stringstream text;
    text << in.rdbuf();
    rapidjson::Document doc;
    doc.Parse(text.str().c_str());
    if (doc.HasParseError())
        return make_error(Errc::bad_plugin, file.string() + ": not JSON at byte " + std::to_string(doc.GetErrorOffset()) +
                                                " (" + rapidjson::GetParseError_En(doc.GetParseError()) + ")");
    if (!doc.IsObject() || !doc.HasMember("cases") || !doc["cases"].IsArray() || doc["cases"].Empty())
        return make_error(Errc::bad_plugin, file.string() + ": \"cases\" is missing or empty: list at least one case");
    const std::string config = doc.HasMember("config") ? to_text(doc["config"]) : "{}";
    if (auto ok = check_config(*manifest, config, file.string() + ": config"); !ok) return ok.error();

    std::vector<PreparedCase> cases;
    for (rapidjson::SizeType i = 0; i < doc["cases"].Size(); ++i) {
        auto c = prepare(doc["cases"][i], i, file.string());
        if (!c) return c.error();
        if (!manifest->has_hook(c->hook))
            return make_error(Errc::bad_plugin, file.string() + ": cases[" + std::to_string(i) + "] calls " +
                                                    std::string{hook_name(c->hook)} + ", which " + kManifestFile.data() +
                                                    " does not list in \"hooks\"; add it there or fix the case");
        cases.push_back(std::move(*c));
    }
    RecordingServices services;
    if (doc.HasMember("state")) {
        if (!doc["state"].IsObject())
            return make_error(Errc::bad_plugin, file.string() + ": \"state\" must be an object, the plugin's state "
                                                                "before the first case ({\"key\": value})");
        for (const auto& m : std::as_const(doc)["state"].GetObject())
            services.state.insert_or_assign(std::string{m.name.GetString(), m.name.GetStringLength()}, to_text(m.value));
    }
    TestReport report;
    auto plugin = LuaPlugin::load(*manifest, config, &services);
    for (const PreparedCase& c : cases) {
        CaseResult r{c.name, false, {}};
        if (!plugin) {
            r.detail = "the plugin did not load";
        } else {
            const std::size_t before = services.produced.size();
            const Outcome out = (*plugin)->call(Call{c.hook, c.subject, c.data, c.context});
            const std::vector<PluginProduce> produced(services.produced.begin() + static_cast<std::ptrdiff_t>(before),
                                                      services.produced.end());
            r = judge(c, out, produced, services.state);
        }
        (r.passed ? report.passed : report.failed) += 1;
        report.cases.push_back(std::move(r));
    }
    if (!plugin) report.load_error = plugin.error().to_string();
    return report;
}

}  // namespace adashta::plugins
