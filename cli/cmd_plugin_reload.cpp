// adashta plugin reload: asks the edge running on a data folder to load its config file's
// plugins again (SIGHUP to the pid in DATA/edge.pid), and waits for the outcome it writes
// to DATA/plugins-reload.json (docs/plugins.md, "Reloading").
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "adashta/json.hpp"
#include "args.hpp"

namespace adashta::cli {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& file) {
    std::ifstream in{file};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

int plugin_reload(const Args& args, const std::string& data_dir) {
    const fs::path pid_file = fs::path{data_dir} / "edge.pid";
    const fs::path status = fs::path{data_dir} / "plugins-reload.json";
    const std::string pid_text = read_text(pid_file);
    const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
    if (pid <= 0)
        return fail(make_error(Errc::bad_option,
                               "no edge runs on " + data_dir + " (" + pid_file.string() +
                                   " is missing); give the edge's --data DIR"));
    (void)args;
    // The edge writes the file anew (whole, by a rename) for every reload: its appearing is
    // the answer to this one.
    std::error_code ec;
    fs::remove(status, ec);
    if (::kill(static_cast<pid_t>(pid), SIGHUP) != 0)
        return fail(make_error(Errc::bad_option,
                               "could not signal the edge (pid " + std::to_string(pid) + " from " +
                                   pid_file.string() + "): " + std::strerror(errno) +
                                   (errno == ESRCH ? "; it is not running" : "")));
    // Loading a JavaScript plugin may start the plugin host: allow it its time.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
    while (std::chrono::steady_clock::now() < deadline) {
        if (fs::exists(status, ec)) {
            const std::string text = read_text(status);  // obj views into it
            auto obj = json::ObjectView::parse(text);
            if (obj && obj->boolean("ok").value_or(false)) {
                std::cout << "reloaded: " << obj->raw("plugins").value_or("[]") << "\n";
                return 0;
            }
            std::cerr << "adashta: reload refused, the plugins loaded before stay: "
                      << (obj ? obj->string("error").value_or("?") : "?") << "\n";
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fail(make_error(Errc::bad_option, "the edge (pid " + std::to_string(pid) +
                                                 ") did not answer the reload within 40 s; see "
                                                 "its log"));
}

}  // namespace adashta::cli
