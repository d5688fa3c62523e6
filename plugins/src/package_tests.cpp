#include "adashta/plugins/package_tests.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "adashta/plugins/lua_plugin.hpp"
#include "adashta/plugins/manifest.hpp"

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

CaseResult judge(const PreparedCase& c, const Outcome& out) {
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
    r.passed = true;
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
    TestReport report;
    auto plugin = LuaPlugin::load(*manifest, config);
    for (const PreparedCase& c : cases) {
        CaseResult r{c.name, false, {}};
        if (!plugin) {
            r.detail = "the plugin did not load";
        } else {
            r = judge(c, (*plugin)->call(Call{c.hook, c.subject, c.data, c.context}));
        }
        (r.passed ? report.passed : report.failed) += 1;
        report.cases.push_back(std::move(r));
    }
    if (!plugin) report.load_error = plugin.error().to_string();
    return report;
}

}  // namespace adashta::plugins
