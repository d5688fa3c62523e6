#include "adashta/plugins/js_host.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "adashta/json.hpp"
#include "adashta/log.hpp"
#include "adashta/plugins/services.hpp"

namespace adashta::plugins {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The frames (plugins/host/frames.mjs has the table): [u32 length][u8 type][body].
constexpr char kLoad = 'L', kUnload = 'U', kCalls = 'B', kProduced = 'p';
constexpr char kReady = 'R', kLoaded = 'l', kAnswer = 'A', kLog = 'G', kProduce = 'P', kState = 'S';
constexpr std::uint32_t kMaxFrameBytes = 256u << 20;
// Answer kinds and failure codes, as frames.mjs Kind and Failure.
enum AnswerKind : std::uint8_t { pass = 0, pass_changed = 1, drop = 2, reject = 3, failed = 4 };
// A call in flight in this many hosts that all died is taken to be what kills them.
constexpr int kMaxAttempts = 3;
// Backoff between host starts while it keeps dying young.
constexpr auto kFirstBackoff = std::chrono::milliseconds(50);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);
constexpr auto kYoung = std::chrono::seconds(5);

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint32_t get_u32(const char* p) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}
void set_u32(std::string& out, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void put_text(std::string& out, std::string_view text) {
    put_u32(out, static_cast<std::uint32_t>(text.size()));
    out += text;
}
void put_frame(std::string& out, char type, std::string_view body) {
    put_u32(out, static_cast<std::uint32_t>(body.size() + 1));
    out += type;
    out += body;
}

std::string errno_text(int err) { return std::strerror(err); }

// The executable's own folder, to find an installed main.mjs beside it.
std::optional<fs::path> executable_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return std::nullopt;
    return exe.parent_path();
}

}  // namespace

fs::path default_host_script() {
    if (const char* env = std::getenv("ADASHTA_PLUGIN_HOST"); env && *env) return env;
    if (auto dir = executable_dir()) {
        const fs::path installed = *dir / ".." / "share" / "adashta" / "plugin-host" / "main.mjs";
        std::error_code ec;
        if (fs::is_regular_file(installed, ec)) return fs::weakly_canonical(installed, ec);
    }
    return fs::path{ADASHTA_PLUGIN_HOST_SOURCE_DIR} / "main.mjs";
}

// Everything a JsHost and its JsPlugins share. The js-host thread (run()) owns the child
// process, its socket and the calls in flight; mutex_ guards only what other threads hand
// it (submitted_, loads_, unloads_, stop_) and the facts they read (pid_, restarts_).
class JsHostCore : public std::enable_shared_from_this<JsHostCore> {
public:
    explicit JsHostCore(JsHost::Options options) : options_(std::move(options)) {}
    ~JsHostCore() { stop(); }

    Status start();
    void stop();
    Result<std::uint32_t> load(const Manifest& manifest, std::string_view config, PluginServices* services);
    void unload(std::uint32_t index);
    void submit(std::uint32_t index, CallText call, std::function<void(Outcome)> done);
    // The calls in one hand-off, answered together; their texts are the caller's until then.
    void submit_batch(std::uint32_t index, std::span<const Call> calls, BatchAnswer done);

    pid_t pid() const {
        std::lock_guard lock(mutex_);
        return pid_;
    }
    int restarts() const {
        std::lock_guard lock(mutex_);
        return restarts_;
    }
    std::string node_version() const {
        std::lock_guard lock(mutex_);
        return node_version_;
    }

private:
    // A batch's outcomes as they come, answered when the last one is in.
    struct Batch {
        std::vector<Outcome> outcomes;  // by slot
        std::atomic<std::size_t> left;  // outcomes still to come
        BatchAnswer done;               // called once, with all of them
    };
    // Where a call's outcome goes: its own done (a single call) or its slot in a batch.
    struct Answer {
        std::function<void(Outcome)> done;
        std::shared_ptr<Batch> batch;
        std::uint32_t slot = 0;
        explicit operator bool() const { return done || batch; }
        void operator()(Outcome out) {
            if (done) return done(std::move(out));
            batch->outcomes[slot] = std::move(out);
            if (--batch->left == 0) batch->done(batch->outcomes);
        }
    };
    struct Submitted {
        std::uint32_t plugin;                 // which plugin
        Call call;                            // what to run: texts kept by keep or the caller
        std::shared_ptr<const CallText> keep;  // a single call's own texts
        Answer answer;                        // called once, on the js-host thread
    };
    struct LoadRequest {
        std::uint32_t index = 0;           // the plugin's number
        std::string spec;                  // the 'L' frame's JSON
        std::string spec_base;             // the same without its state and closing brace
        PluginServices* services = nullptr;  // produce and state; not owned, may be null
        bool may_produce = false;          // the manifest's permissions
        bool may_store = false;
        fs::path folder;                   // what the host must be allowed to read
        std::string name;                  // for errors
        std::optional<std::string> error;  // the answer: "" loaded, else why not
    };
    struct Pending {
        std::uint32_t plugin = 0;           // which plugin
        Call call;                          // sent again to a new host (texts as Submitted's)
        std::shared_ptr<const CallText> keep;  // a single call's own texts
        Answer answer;                      // called once
        int attempts = 0;                   // hosts it was sent to
        Clock::time_point waiting_since{};  // when it started waiting for a host (max: it has one)
    };
    struct PluginState {
        std::string spec;               // the 'L' frame's JSON, sent to the first host
        std::string spec_base;          // without the state: a later host gets load_state's
        PluginServices* services = nullptr;  // produce and state; not owned, may be null
        bool may_produce = false;       // the manifest's permissions
        bool may_store = false;
        std::string name;               // for log lines
        std::deque<std::uint32_t> ids;  // its calls in flight, oldest first
        bool loaded = false;            // its first load answered
        std::string broken;             // a new host could not load it: why (calls fail)
    };

    void run();
    void spawn_host();
    void on_host_gone(std::string why);
    void take_submissions();
    // Calls to one plugin with consecutive ids, written to out_ as one 'B' frame: add() each,
    // then close() (a run that grows past kRunBytes is closed and a new one opened).
    class CallRun {
    public:
        explicit CallRun(std::string& out) : out_(out) {}
        void add(std::uint32_t plugin, std::uint32_t id, const Call& call);
        void close();

    private:
        static constexpr std::size_t kRunBytes = 4u << 20;
        std::string& out_;
        std::size_t at_ = std::string::npos;  // where the open frame starts in out_
        std::uint32_t plugin_ = 0;
        std::uint32_t next_id_ = 0;           // the id a call must have to join the run
        std::uint32_t count_ = 0;
    };
    void flush_writes();
    bool read_frames();
    void on_frame(char type, std::string_view body);
    void on_answer(std::string_view body);
    void on_produce(std::string_view body);
    void on_state(std::string_view body);
    void send_produced();
    std::optional<std::string> load_spec(PluginState& s);
    void finish(std::uint32_t id, Outcome out);
    void fail_waiting(Clock::time_point now);
    void fail_all(const std::string& why);
    Outcome failure(std::string text) const {
        Outcome out;
        out.failure = Failure::error;
        out.error = std::move(text);
        return out;
    }
    void wake();

    const JsHost::Options options_;

    // Guarded by mutex_ (never held while a done callback runs).
    mutable std::mutex mutex_;
    std::condition_variable changed_;         // a load answered, the first host ready or failed
    std::vector<Submitted> submitted_;         // calls not yet taken by the js-host thread
    std::vector<LoadRequest*> loads_;          // loads not yet taken (their callers wait)
    std::vector<LoadRequest*> loads_waiting_;  // taken, not answered yet
    std::vector<std::uint32_t> unloads_;       // plugins dropped by their JsPlugin
    std::set<fs::path> folders_;               // the folders of every load asked for
    bool woken_ = false;                       // wake_fd_ has a wake-up nobody took yet
    bool stop_ = false;                        // stop() was called
    pid_t pid_ = 0;                            // the host process, 0 while there is none
    int restarts_ = 0;                         // hosts started after the first
    std::string node_version_;                 // the first host's ready frame
    std::string first_error_;                  // why the first host did not become ready
    bool first_ready_ = false;                 // the first host said ready
    std::uint32_t next_plugin_ = 0;            // numbers for loads
    struct Produced {
        std::uint64_t host = 0;            // the host that asked (host_number_ then)
        std::uint32_t plugin = 0;          // the 'P' frame's p and r
        std::uint64_t request = 0;
        Status status;                     // stored, or why not
    };
    std::vector<Produced> produced_;           // answers of PluginServices::produce, any thread

    // Owned by the js-host thread.
    int wake_fd_ = -1;                         // eventfd: other threads have something for it
    int sock_ = -1;                            // our end of the socket to the host, -1: none
    bool ready_ = false;                       // the host said ready; calls may be sent
    std::set<fs::path> host_folders_;          // what the running host may read
    Clock::time_point started_at_{};           // when the running host started
    Clock::time_point restart_at_{};           // when to start the next one
    std::chrono::milliseconds backoff_{0};     // the next start's delay while it dies young
    std::string out_;                          // frames not yet written
    std::string in_;                           // bytes read, not yet a whole frame
    std::map<std::uint32_t, Pending> in_flight_;       // every call without an answer
    std::map<std::uint32_t, PluginState> plugins_;     // every plugin loaded, by number
    std::uint32_t next_id_ = 1;                        // call numbers
    std::uint64_t host_number_ = 0;                    // hosts started, this one included
    std::thread thread_;                               // runs run()
};

Status JsHostCore::start() {
    const fs::path script = options_.script.empty() ? default_host_script() : options_.script;
    std::error_code ec;
    if (!fs::is_regular_file(script, ec))
        return make_error(Errc::bad_plugin,
                          "the JavaScript plugin host " + script.string() +
                              " is missing: reinstall adashta, or point ADASHTA_PLUGIN_HOST at plugins/host/main.mjs");
    for (const auto& f : options_.folders) {
        const fs::path real = fs::canonical(f, ec);
        if (ec) return make_error(Errc::bad_plugin, "the plugin folder " + f.string() + ": " + ec.message());
        folders_.insert(real);
    }
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return make_error(Errc::bad_plugin, "eventfd: " + errno_text(errno));
    thread_ = std::thread([this] { run(); });
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, options_.load_wait, [&] { return first_ready_ || !first_error_.empty(); });
    if (first_ready_) return {};
    const std::string why = first_error_.empty() ? "it did not say ready in time" : first_error_;
    lock.unlock();
    stop();
    return make_error(Errc::bad_plugin,
                      "the JavaScript plugin host did not start (" + why + "): it needs Node.js 20 or later as " +
                          options_.node.string() + " (scripts/setup.sh installs it)");
}

void JsHostCore::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stop_ && !thread_.joinable()) return;
        stop_ = true;
    }
    wake();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    if (wake_fd_ >= 0) close(wake_fd_);
    wake_fd_ = -1;
}

void JsHostCore::wake() {
    {
        std::lock_guard lock(mutex_);
        if (woken_) return;
        woken_ = true;
    }
    const std::uint64_t one = 1;
    if (wake_fd_ >= 0) [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
}

// The plugin's state as the 'L' frame's "state": {key: JSON text}. A text that is not JSON
// (a store changed by hand) is left out with a warning rather than given to the plugin.
std::string state_member(const std::string& plugin, const std::vector<std::pair<std::string, std::string>>& state) {
    std::string out = ",\"state\":{";
    bool first = true;
    for (const auto& [key, value] : state) {
        if (!json::is_valid(value)) {
            log::warn("plugin " + plugin, "its saved state under " + json::quote(key.substr(0, 64)) +
                                              " is not JSON; it is left out");
            continue;
        }
        if (!first) out += ',';
        first = false;
        json::append_quoted(out, key);
        out += ':';
        json::append_quoted(out, value);
    }
    return out + "}}";
}

Result<std::uint32_t> JsHostCore::load(const Manifest& m, std::string_view config, PluginServices* services) {
    assert(m.runtime == Runtime::js && "JsHost::load of a plugin that is not JavaScript");
    const std::string where = m.name + " (" + (m.folder / m.entry).string() + ")";
    std::error_code ec;
    const fs::path folder = fs::canonical(m.folder, ec);
    if (ec) return make_error(Errc::bad_plugin, where + ": its folder: " + ec.message());
    const std::string text{config.empty() ? std::string_view{"{}"} : config};
    if (!json::is_valid(text)) return make_error(Errc::bad_plugin, where + ": its config is not JSON");
    LoadRequest request;
    request.folder = folder;
    request.name = m.name;
    std::string hooks = "[";
    for (const Hook h : m.hooks) {
        if (hooks.size() > 1) hooks += ',';
        hooks += json::quote(hook_name(h));
    }
    hooks += ']';
    {
        std::lock_guard lock(mutex_);
        if (stop_) return make_error(Errc::bad_plugin, where + ": the JavaScript plugin host has stopped");
        request.index = next_plugin_++;
    }
    request.services = services;
    request.may_produce = m.may(Permission::produce);
    request.may_store = m.may(Permission::store);
    request.spec_base = "{\"p\":" + std::to_string(request.index) + ",\"folder\":" + json::quote(folder.string()) +
                        ",\"entry\":" + json::quote(m.entry) + ",\"name\":" + json::quote(m.name) +
                        ",\"version\":" + json::quote(m.version) + ",\"callMs\":" + std::to_string(m.limits.call_ms) +
                        ",\"memoryMB\":" + std::to_string(std::max<std::size_t>(1, m.limits.memory_bytes >> 20)) +
                        ",\"http\":" + (m.may(Permission::http) ? "true" : "false") + ",\"hooks\":" + hooks +
                        ",\"produce\":" + (request.may_produce ? "true" : "false") +
                        ",\"store\":" + (request.may_store ? "true" : "false") +
                        ",\"services\":" + (services ? "true" : "false") + ",\"config\":" + text;
    // The state is read here, on the loading thread (it may wait for the store at the
    // edge's start); a later host reads it again on the js-host thread (load_spec).
    std::vector<std::pair<std::string, std::string>> state;
    if (services && request.may_store) {
        auto loaded = services->load_state(m.name);
        if (!loaded)
            return make_error(Errc::bad_plugin, where + ": its state could not be read from the edge's store: " +
                                                    loaded.error().to_string());
        state = std::move(*loaded);
    }
    request.spec = request.spec_base + state_member(m.name, state);
    std::unique_lock lock(mutex_);
    loads_.push_back(&request);
    folders_.insert(folder);
    lock.unlock();
    wake();
    lock.lock();
    const bool answered = changed_.wait_for(lock, options_.load_wait, [&] { return request.error.has_value(); });
    if (!answered) {
        // Taken back, so the js-host thread never touches it again.
        std::erase(loads_, &request);
        std::erase(loads_waiting_, &request);
        return make_error(Errc::bad_plugin, where + ": the plugin host did not load it within " +
                                                std::to_string(options_.load_wait.count()) + " ms");
    }
    if (!request.error->empty()) return make_error(Errc::bad_plugin, *request.error);
    return request.index;
}

void JsHostCore::unload(std::uint32_t index) {
    {
        std::lock_guard lock(mutex_);
        unloads_.push_back(index);
    }
    wake();
}

void JsHostCore::submit(std::uint32_t index, CallText call, std::function<void(Outcome)> done) {
    bool was_woken = false;
    bool stopped = false;
    {
        std::lock_guard lock(mutex_);
        stopped = stop_;
        if (!stopped) {
            auto keep = std::make_shared<const CallText>(std::move(call));
            submitted_.push_back(Submitted{index, keep->view(), keep, Answer{std::move(done), nullptr, 0}});
            was_woken = woken_;
            woken_ = true;
        }
    }
    if (stopped) return done(failure("the JavaScript plugin host has stopped"));
    if (!was_woken) {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
    }
}

void JsHostCore::submit_batch(std::uint32_t index, std::span<const Call> calls, BatchAnswer done) {
    if (calls.empty()) return done({});
    auto batch = std::make_shared<Batch>();
    batch->outcomes.resize(calls.size());
    batch->left = calls.size();
    batch->done = std::move(done);
    bool was_woken = false;
    bool stopped = false;
    {
        std::lock_guard lock(mutex_);
        stopped = stop_;
        if (!stopped) {
            for (std::size_t i = 0; i < calls.size(); ++i)
                submitted_.push_back(Submitted{index, calls[i], nullptr,
                                               Answer{nullptr, batch, static_cast<std::uint32_t>(i)}});
            was_woken = woken_;
            woken_ = true;
        }
    }
    if (stopped) {
        for (auto& out : batch->outcomes) out = failure("the JavaScript plugin host has stopped");
        return batch->done(batch->outcomes);
    }
    if (!was_woken) {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
    }
}

// The host process: node with the permission model (plugins/host/testing.mjs builds the same
// command line), on one end of a socket pair as its stdin and stdout; an empty environment
// (no NODE_OPTIONS reaches it); no other descriptor of the edge.
void JsHostCore::spawn_host() {
    std::set<fs::path> folders;
    {
        std::lock_guard lock(mutex_);
        folders = folders_;
    }
    const fs::path script = options_.script.empty() ? default_host_script() : options_.script;
    std::vector<std::string> args = {options_.node.string(), "--experimental-permission", "--allow-worker",
                                     "--no-addons", "--disable-warning=ExperimentalWarning",
                                     "--disable-warning=SecurityWarning",
                                     "--allow-fs-read=" + script.parent_path().string() + "/"};
    for (const auto& f : folders) args.push_back("--allow-fs-read=" + f.string() + "/");
    args.push_back(script.string());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    char* envp[] = {nullptr};

    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        on_host_gone("socketpair: " + errno_text(errno));
        return;
    }
    const bool search = options_.node.string().find('/') == std::string::npos;
    const pid_t pid = fork();
    if (pid == 0) {
        // The child: only async-signal-safe calls until exec.
        dup2(pair[1], 0);
        dup2(pair[1], 1);
        close_range(3, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        if (search) execvpe(argv[0], argv.data(), envp);
        else execve(argv[0], argv.data(), envp);
        _exit(127);
    }
    close(pair[1]);
    if (pid < 0) {
        close(pair[0]);
        on_host_gone("fork: " + errno_text(errno));
        return;
    }
    sock_ = pair[0];
    ++host_number_;
    fcntl(sock_, F_SETFL, fcntl(sock_, F_GETFL) | O_NONBLOCK);
    host_folders_ = std::move(folders);
    started_at_ = Clock::now();
    ready_ = false;
    out_.clear();
    in_.clear();
    std::lock_guard lock(mutex_);
    pid_ = pid;
}

// The host died or was stopped: every call in flight waits for the next one (from now, for
// at most resend_wait), or fails if it has been in too many that died.
void JsHostCore::on_host_gone(std::string why) {
    pid_t pid = 0;
    {
        std::lock_guard lock(mutex_);
        pid = pid_;
        pid_ = 0;
    }
    if (sock_ >= 0) close(sock_);
    sock_ = -1;
    if (pid > 0) {
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        if (why.empty()) {
            why = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                      : "exited with code " + std::to_string(WEXITSTATUS(status));
        }
    }
    {
        std::lock_guard lock(mutex_);
        if (!first_ready_ && first_error_.empty()) {
            first_error_ = why;
            changed_.notify_all();
        }
    }
    const auto now = Clock::now();
    backoff_ = now - started_at_ < kYoung ? std::clamp(backoff_ * 2, kFirstBackoff, kMaxBackoff)
                                          : std::chrono::milliseconds(0);
    restart_at_ = now + backoff_;
    if (ready_) log::warn("plugins", "the JavaScript plugin host stopped (" + why + "); starting it again");
    ready_ = false;
    out_.clear();
    in_.clear();
    std::vector<std::uint32_t> gave_up;
    for (auto& [id, p] : in_flight_) {
        if (p.waiting_since == Clock::time_point::max()) p.waiting_since = now;
        if (p.attempts >= kMaxAttempts) gave_up.push_back(id);
    }
    for (const auto id : gave_up)
        finish(id, failure("the JavaScript plugin host died " + std::to_string(kMaxAttempts) +
                           " times while running this call"));
}

void JsHostCore::CallRun::add(std::uint32_t plugin, std::uint32_t id, const Call& call) {
    if (at_ != std::string::npos && (plugin != plugin_ || id != next_id_ || out_.size() - at_ > kRunBytes)) close();
    if (at_ == std::string::npos) {
        at_ = out_.size();
        put_u32(out_, 0);  // the length and the count, set by close()
        out_ += kCalls;
        put_u32(out_, plugin);
        put_u32(out_, id);
        put_u32(out_, 0);
        plugin_ = plugin;
        count_ = 0;
    }
    out_.reserve(out_.size() + 13 + call.subject.size() + call.data.size() + call.context.size());
    out_ += static_cast<char>(call.hook);
    put_text(out_, call.subject);
    put_text(out_, call.data);
    put_text(out_, call.context);
    next_id_ = id + 1;
    ++count_;
}

void JsHostCore::CallRun::close() {
    if (at_ == std::string::npos) return;
    set_u32(out_, at_, static_cast<std::uint32_t>(out_.size() - at_ - 4));
    set_u32(out_, at_ + 13, count_);
    at_ = std::string::npos;
}

void JsHostCore::take_submissions() {
    // The wake-up is read before the queues are taken: a call queued after this read finds
    // woken_ false (reset below) and wakes the thread again.
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = read(wake_fd_, &count, sizeof count);
    std::vector<Submitted> calls;
    std::vector<LoadRequest> loads;  // copies: a caller that gave up destroys its own
    std::vector<std::uint32_t> unloads;
    {
        std::lock_guard lock(mutex_);
        calls.swap(submitted_);
        for (auto* l : loads_) {
            loads.push_back(*l);
            loads_waiting_.push_back(l);
        }
        loads_.clear();
        unloads.swap(unloads_);
        woken_ = false;
    }
    send_produced();
    bool new_folder = false;
    for (auto& l : loads) {
        PluginState& s = plugins_[l.index];
        s.spec = l.spec;
        s.spec_base = l.spec_base;
        s.services = l.services;
        s.may_produce = l.may_produce;
        s.may_store = l.may_store;
        s.name = l.name;
        if (!host_folders_.contains(l.folder)) new_folder = true;
        else if (ready_) put_frame(out_, kLoad, s.spec);
    }
    for (const auto index : unloads) {
        auto it = plugins_.find(index);
        if (it == plugins_.end()) continue;
        const std::deque<std::uint32_t> ids = it->second.ids;
        for (const auto id : ids) finish(id, failure("plugin " + it->second.name + " was unloaded"));
        if (ready_) put_frame(out_, kUnload, "{\"p\":" + std::to_string(index) + "}");
        plugins_.erase(it);
    }
    CallRun run{out_};
    for (auto& s : calls) {
        auto it = plugins_.find(s.plugin);
        if (it == plugins_.end()) {
            s.answer(failure("the plugin was unloaded"));
            continue;
        }
        if (!it->second.broken.empty()) {
            s.answer(failure(it->second.broken));
            continue;
        }
        const std::uint32_t id = next_id_++;
        Pending& p = in_flight_[id];
        p.plugin = s.plugin;
        p.call = s.call;
        p.keep = std::move(s.keep);
        p.answer = std::move(s.answer);
        p.waiting_since = Clock::time_point::max();
        it->second.ids.push_back(id);
        if (ready_) {
            ++p.attempts;
            run.add(p.plugin, id, p.call);
        } else {
            p.waiting_since = Clock::now();
        }
    }
    run.close();
    // The permission model's folders are fixed when node starts: a new one needs a new host.
    if (new_folder && sock_ >= 0) {
        ready_ = false;  // no warning: it is not dying
        on_host_gone("restarted to read a new plugin folder");
        restart_at_ = Clock::now();
        backoff_ = std::chrono::milliseconds(0);
    }
}

void JsHostCore::flush_writes() {
    std::size_t at = 0;
    while (at < out_.size() && sock_ >= 0) {
        const ssize_t n = send(sock_, out_.data() + at, out_.size() - at, MSG_NOSIGNAL);
        if (n > 0) {
            at += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        out_.erase(0, at);
        on_host_gone("");
        return;
    }
    out_.erase(0, at);
}

// False when the host is gone (end of stream, a broken frame).
bool JsHostCore::read_frames() {
    char buf[64 * 1024];
    for (;;) {
        const ssize_t n = recv(sock_, buf, sizeof buf, 0);
        if (n > 0) {
            in_.append(buf, static_cast<std::size_t>(n));
            if (static_cast<std::size_t>(n) < sizeof buf) break;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return false;
    }
    std::size_t at = 0;
    while (in_.size() - at >= 4) {
        const std::uint32_t length = get_u32(in_.data() + at);
        if (length < 1 || length > kMaxFrameBytes) {
            log::error("plugins", "the JavaScript plugin host sent a frame of " + std::to_string(length) +
                                      " bytes: it is out of step; restarting it");
            return false;
        }
        if (in_.size() - at - 4 < length) break;
        on_frame(in_[at + 4], std::string_view{in_}.substr(at + 5, length - 1));
        at += 4 + length;
        if (sock_ < 0) return true;  // on_frame restarted it
    }
    in_.erase(0, at);
    return true;
}

void JsHostCore::on_frame(char type, std::string_view body) {
    switch (type) {
        case kAnswer: return on_answer(body);
        case kProduce: return on_produce(body);
        case kState: return on_state(body);
        case kReady: {
            ready_ = true;
            const auto ready = json::ObjectView::parse(body);
            for (auto& [index, s] : plugins_)
                if (auto spec = load_spec(s)) put_frame(out_, kLoad, *spec);
            // Every call without an answer, each plugin's in its order.
            for (auto& [index, s] : plugins_) {
                if (!s.broken.empty()) {
                    const std::deque<std::uint32_t> ids = s.ids;
                    for (const auto id : ids) finish(id, failure(s.broken));
                    continue;
                }
                CallRun run{out_};
                for (const auto id : s.ids) {
                    Pending& p = in_flight_.at(id);
                    ++p.attempts;
                    p.waiting_since = Clock::time_point::max();
                    run.add(index, id, p.call);
                }
                run.close();
            }
            std::lock_guard lock(mutex_);
            if (first_ready_) {
                ++restarts_;
            } else {
                first_ready_ = true;
                if (ready) node_version_ = ready->string("node").value_or("");
            }
            changed_.notify_all();
            return;
        }
        case kLoaded: {
            const auto m = json::ObjectView::parse(body);
            if (!m) return;
            const auto index = static_cast<std::uint32_t>(m->integer("p").value_or(-1));
            const auto error = m->string("error");
            auto it = plugins_.find(index);
            if (it == plugins_.end()) return;
            PluginState& s = it->second;
            if (!s.loaded) {
                s.loaded = true;
                std::lock_guard lock(mutex_);
                for (auto* l : loads_waiting_) {
                    if (l->index != index) continue;
                    l->error = error.value_or("");
                    std::erase(loads_waiting_, l);
                    break;
                }
                changed_.notify_all();
                if (error) plugins_.erase(it);
                return;
            }
            if (error) {
                // It loaded once and not in this host (its files changed?): nothing serves it.
                s.broken = "plugin " + s.name + " could not be loaded again: " + *error;
                log::error("plugins", s.broken);
                const std::deque<std::uint32_t> ids = s.ids;
                for (const auto id : ids) finish(id, failure(s.broken));
            }
            return;
        }
        case kLog: {
            const auto m = json::ObjectView::parse(body);
            if (!m) return;
            const auto it = plugins_.find(static_cast<std::uint32_t>(m->integer("p").value_or(-1)));
            const auto level = log::parse_level(m->string("level").value_or("info")).value_or(log::Level::info);
            if (log::enabled(level))
                log::write(level, "plugin " + (it == plugins_.end() ? std::string{"?"} : it->second.name),
                           m->string("text").value_or(""));
            return;
        }
        default:
            log::error("plugins", "the JavaScript plugin host sent an unknown frame; restarting it");
            on_host_gone("it sent an unknown frame");
    }
}

void JsHostCore::on_answer(std::string_view body) {
    if (body.size() < 13) return on_host_gone("it sent a short answer");
    const std::uint32_t id = get_u32(body.data());
    const auto kind = static_cast<std::uint8_t>(body[4]);
    const auto code = static_cast<std::int32_t>(get_u32(body.data() + 5));
    const std::uint32_t length = get_u32(body.data() + 9);
    if (body.size() < 13 + std::size_t{length}) return on_host_gone("it sent a short answer");
    const std::string_view text = body.substr(13, length);
    Outcome out;
    switch (kind) {
        case pass: break;
        case pass_changed: out.verdict.data.emplace(text); break;
        case drop:
            out.verdict.kind = Verdict::Kind::drop;
            out.verdict.reason = text;
            break;
        case reject:
            out.verdict.kind = Verdict::Kind::reject;
            out.verdict.reason = text;
            out.verdict.close_code = code;
            break;
        default:
            out.failure = code == 2 ? Failure::time : code == 3 ? Failure::memory : Failure::error;
            out.error = text;
    }
    finish(id, std::move(out));
}

// The 'L' frame for a plugin: the first host gets the one load() made; a later one the
// state as load_state has it now (the writes of the host that died included). nullopt when
// the state cannot be read: the plugin is broken until the edge reloads it.
std::optional<std::string> JsHostCore::load_spec(PluginState& s) {
    if (!s.loaded) return s.spec;
    std::vector<std::pair<std::string, std::string>> state;
    if (s.services && s.may_store) {
        auto loaded = s.services->load_state(s.name);
        if (!loaded) {
            s.broken = "plugin " + s.name + " could not be loaded again: its state could not be read: " +
                       loaded.error().to_string();
            log::error("plugins", s.broken);
            return std::nullopt;
        }
        state = std::move(*loaded);
    }
    return s.spec_base + state_member(s.name, state);
}

// 'P': a plugin's adashta.produce. Its answer comes back through produced_ (done may run on
// any thread, or at once on this one) and goes out as 'p' to the host that asked.
void JsHostCore::on_produce(std::string_view body) {
    if (body.size() < 4 || body.size() - 4 < get_u32(body.data())) return on_host_gone("it sent a short produce");
    const std::uint32_t head_size = get_u32(body.data());
    const auto head = json::ObjectView::parse(body.substr(4, head_size));
    if (!head) return on_host_gone("it sent a produce frame that is not JSON");
    const auto index = static_cast<std::uint32_t>(head->integer("p").value_or(-1));
    const auto request = static_cast<std::uint64_t>(head->integer("r").value_or(0));
    const auto it = plugins_.find(index);
    if (it == plugins_.end()) return;  // unloaded since
    const PluginState& s = it->second;
    PluginProduce message{.plugin = s.name,
                          .queue = head->string("queue").value_or(""),
                          .data = std::string{body.substr(4 + head_size)},
                          .to = head->string("to").value_or(""),
                          .user = head->string("user").value_or(""),
                          .to_server = head->boolean("toServer").value_or(false),
                          .session = head->string("session").value_or(""),
                          .delay_ms = head->integer("delayMs").value_or(0)};
    const auto answer = [weak = weak_from_this(), host = host_number_, index, request](const Status& status) {
        const auto self = weak.lock();
        if (!self) return;
        {
            std::lock_guard lock(self->mutex_);
            self->produced_.push_back(Produced{host, index, request, status});
        }
        self->wake();
    };
    // The worker checked all of this; a host that sends it anyway is answered, not trusted.
    Status ok;
    if (!s.may_produce || !s.services)
        ok = make_error(Errc::not_allowed, "adashta.produce needs the \"produce\" permission and an edge's services");
    else if (!json::is_valid(message.data))
        ok = make_error(Errc::bad_data, "adashta.produce: the data is not JSON");
    else
        ok = check_produce(message);
    if (!ok) return answer(ok);
    s.services->produce(std::move(message), answer);
}

// 'S': a plugin's state change, saved behind (never waits). Sizes are checked again.
void JsHostCore::on_state(std::string_view body) {
    const auto m = json::ObjectView::parse(body);
    if (!m) return on_host_gone("it sent a state frame that is not JSON");
    const auto it = plugins_.find(static_cast<std::uint32_t>(m->integer("p").value_or(-1)));
    if (it == plugins_.end()) return;
    const PluginState& s = it->second;
    auto key = m->string("k").value_or("");
    std::optional<std::string> value = m->string("v");
    Status ok;
    if (!s.may_store || !s.services)
        ok = make_error(Errc::not_allowed, "adashta.state needs the \"store\" permission and an edge's services");
    else if (value && !json::is_valid(*value))
        ok = make_error(Errc::bad_data, "adashta.state.set: the value is not JSON");
    else
        ok = check_state_write(key, value, 0, false);
    if (!ok) {
        log::error("plugin " + s.name, "the plugin host sent a state change the edge refuses: " + ok.error().to_string());
        return;
    }
    s.services->save_state(s.name, std::move(key), std::move(value));
}

// The answers of PluginServices::produce that came in since: 'p' frames to the host that
// asked (one that died since asked nothing any more).
void JsHostCore::send_produced() {
    std::vector<Produced> answers;
    {
        std::lock_guard lock(mutex_);
        answers.swap(produced_);
    }
    for (const Produced& a : answers) {
        if (a.host != host_number_ || sock_ < 0) continue;
        std::string frame = "{\"p\":" + std::to_string(a.plugin) + ",\"r\":" + std::to_string(a.request);
        if (!a.status) {
            frame += ",\"error\":{\"code\":";
            json::append_quoted(frame, error_info(a.status.error().code).name);
            frame += ",\"text\":";
            json::append_quoted(frame, a.status.error().detail.empty() ? std::string{error_info(a.status.error().code).message}
                                                                        : a.status.error().detail);
            frame += '}';
        }
        frame += '}';
        put_frame(out_, kProduced, frame);
    }
}

// Answers a call: it leaves in_flight_ and its plugin's queue, and done runs.
void JsHostCore::finish(std::uint32_t id, Outcome out) {
    auto it = in_flight_.find(id);
    if (it == in_flight_.end()) return;  // already failed (the host answered late)
    Pending p = std::move(it->second);
    in_flight_.erase(it);
    if (auto s = plugins_.find(p.plugin); s != plugins_.end()) {
        auto& ids = s->second.ids;
        if (!ids.empty() && ids.front() == id) ids.pop_front();
        else std::erase(ids, id);
    }
    if (p.answer) p.answer(std::move(out));
}

// Calls that have waited resend_wait for a host: failed, each plugin's in its order.
void JsHostCore::fail_waiting(Clock::time_point now) {
    std::vector<std::uint32_t> late;
    for (auto& [index, s] : plugins_)
        for (const auto id : s.ids) {
            const Pending& p = in_flight_.at(id);
            if (p.waiting_since != Clock::time_point::max() && now - p.waiting_since >= options_.resend_wait)
                late.push_back(id);
        }
    for (const auto id : late)
        finish(id, failure("the JavaScript plugin host was not back within " +
                           std::to_string(options_.resend_wait.count()) + " ms"));
}

void JsHostCore::fail_all(const std::string& why) {
    for (auto& [index, s] : plugins_) {
        const std::deque<std::uint32_t> ids = s.ids;
        for (const auto id : ids) finish(id, failure(why));
    }
    std::vector<Submitted> calls;
    {
        std::lock_guard lock(mutex_);
        calls.swap(submitted_);
        for (auto* l : loads_) l->error = "the JavaScript plugin host has stopped";
        for (auto* l : loads_waiting_) l->error = "the JavaScript plugin host has stopped";
        loads_.clear();
        loads_waiting_.clear();
        changed_.notify_all();
    }
    for (auto& s : calls) s.answer(failure(why));
}

void JsHostCore::run() {
    restart_at_ = Clock::now();
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stop_) break;
        }
        const auto now = Clock::now();
        if (sock_ < 0 && now >= restart_at_) {
            spawn_host();
            continue;
        }
        // The next deadline: a restart, or the first call to give up on a host (calls wait
        // only while no host is ready).
        auto until = sock_ < 0 ? restart_at_ : now + std::chrono::seconds(1);
        if (!ready_) {
            fail_waiting(now);
            for (const auto& [id, p] : in_flight_)
                if (p.waiting_since != Clock::time_point::max())
                    until = std::min(until, p.waiting_since + options_.resend_wait);
        }
        const int timeout = static_cast<int>(
            std::clamp<long long>(std::chrono::ceil<std::chrono::milliseconds>(until - now).count(), 0, 1000));
        pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {sock_, static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0}};
        const int n = poll(fds, sock_ >= 0 ? 2 : 1, timeout);
        if (n < 0 && errno != EINTR) {
            log::error("plugins", "poll: " + errno_text(errno));
            break;
        }
        if (fds[0].revents & POLLIN) take_submissions();
        if (sock_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (!read_frames()) on_host_gone("");
        }
        if (sock_ >= 0 && !out_.empty()) flush_writes();
    }
    if (sock_ >= 0) {
        ready_ = false;
        on_host_gone("stopped");
    }
    fail_all("the JavaScript plugin host has stopped");
}

// --- JsHost, JsPlugin -----------------------------------------------------------------

Result<std::unique_ptr<JsHost>> JsHost::start(Options options) {
    auto core = std::make_shared<JsHostCore>(std::move(options));
    if (auto ok = core->start(); !ok) return ok.error();
    return std::unique_ptr<JsHost>(new JsHost(std::move(core)));
}

JsHost::~JsHost() { core_->stop(); }

Result<std::unique_ptr<JsPlugin>> JsHost::load(const Manifest& manifest, std::string_view config,
                                               PluginServices* services) {
    auto index = core_->load(manifest, config, services);
    if (!index) return index.error();
    return std::unique_ptr<JsPlugin>(new JsPlugin(core_, manifest, *index));
}

pid_t JsHost::pid() const { return core_->pid(); }
int JsHost::restarts() const { return core_->restarts(); }
std::string JsHost::node_version() const { return core_->node_version(); }

JsPlugin::~JsPlugin() { core_->unload(index_); }

void JsPlugin::call(CallText call, std::function<void(Outcome)> done) {
    assert(manifest_.has_hook(call.hook) && "call() of a hook the manifest does not name");
    core_->submit(index_, std::move(call), std::move(done));
}

void JsPlugin::call_batch(std::span<const Call> calls, BatchAnswer done) {
    core_->submit_batch(index_, calls, std::move(done));
}

}  // namespace adashta::plugins
