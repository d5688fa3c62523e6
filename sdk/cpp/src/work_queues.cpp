#include "adashta/work_queues.hpp"

#include <span>

#include "adashta/json.hpp"

namespace adashta {
namespace {

std::string qname_args(std::string_view qname) {
    return "{\"qname\":" + json::quote(qname);
}

void add_ms(std::string& args, std::string_view key, std::optional<std::chrono::milliseconds> ms) {
    if (ms) args += ",\"" + std::string{key} + "\":" + std::to_string(ms->count());
}

void add_options(std::string& args, const WorkQueueOptions& o) {
    add_ms(args, "vt", o.vt);
    add_ms(args, "delay", o.delay);
    if (o.maxsize) args += ",\"maxsize\":" + std::to_string(*o.maxsize);
    if (o.max_receive) args += ",\"maxReceive\":" + std::to_string(*o.max_receive);
    if (o.dead_letter) args += ",\"deadLetter\":" + json::quote(*o.dead_letter);
}

Result<WorkQueueAttributes> attributes_of(const Result<std::string>& answer) {
    if (!answer) return answer.error();
    auto a = json::ObjectView::parse(*answer);
    if (!a) return a.error();
    WorkQueueAttributes out;
    out.vt_ms = a->integer("vt").value_or(0);
    out.delay_ms = a->integer("delay").value_or(0);
    out.maxsize = a->integer("maxsize").value_or(0);
    out.totalrecv = a->integer("totalrecv").value_or(0);
    out.totalsent = a->integer("totalsent").value_or(0);
    out.created_ms = a->integer("created").value_or(0);
    out.modified_ms = a->integer("modified").value_or(0);
    out.msgs = a->integer("msgs").value_or(0);
    out.hiddenmsgs = a->integer("hiddenmsgs").value_or(0);
    out.max_receive = a->integer("maxReceive").value_or(0);
    out.dead_letter = a->string("deadLetter").value_or("");
    out.totaldead = a->integer("totaldead").value_or(0);
    return out;
}

Result<std::optional<Job>> job_of_text(std::string_view text) {
    auto j = json::ObjectView::parse(text);
    if (!j) return j.error();
    if (!j->has("id")) return std::optional<Job>{};
    Job job;
    job.id = j->string("id").value_or("");
    job.message = j->string("message").value_or("");
    job.sent_ms = j->integer("sent").value_or(0);
    job.fr_ms = j->integer("fr").value_or(0);
    job.rc = j->integer("rc").value_or(0);
    return std::optional<Job>{std::move(job)};
}

Result<std::optional<Job>> job_of(const Result<std::string>& answer) {
    if (!answer) return answer.error();
    return job_of_text(*answer);
}

// The elements of the array member key of an answer.
Result<std::vector<std::string_view>> list_of(const std::string& answer, std::string_view key) {
    auto object = json::ObjectView::parse(answer);
    if (!object) return object.error();
    auto raw = object->raw(key);
    if (!raw)
        return make_error(Errc::bad_frame, "the edge's answer has no \"" + std::string{key} + "\"");
    return json::array_elements(*raw);
}

// {"qname":..,"<key>":[ "..", ".." ] as the start of a batch's arguments.
std::string list_args(std::string_view qname, std::string_view key,
                      std::span<const std::string> items) {
    std::string args = qname_args(qname) + ",\"" + std::string{key} + "\":[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) args += ',';
        json::append_quoted(args, items[i]);
    }
    return args + "]";
}

}  // namespace

Result<std::string> WorkQueues::call(std::string_view op, std::string args,
                                     std::chrono::milliseconds wait) {
    return node_.call(op, args, std::chrono::seconds{10} + wait);
}

Status WorkQueues::create_queue(std::string_view qname, const WorkQueueOptions& options) {
    std::string args = qname_args(qname);
    add_options(args, options);
    auto answer = call("wq.create", args + "}");
    return answer ? Status{} : Status{answer.error()};
}

Status WorkQueues::delete_queue(std::string_view qname) {
    auto answer = call("wq.drop", qname_args(qname) + "}");
    return answer ? Status{} : Status{answer.error()};
}

Result<std::vector<std::string>> WorkQueues::list_queues() {
    auto answer = call("wq.list", "{}");
    if (!answer) return answer.error();
    auto object = json::ObjectView::parse(*answer);
    if (!object) return object.error();
    auto names = json::array_elements(object->raw("queues").value_or("[]"));
    if (!names) return names.error();
    std::vector<std::string> out;
    for (auto name : *names) out.push_back(json::unquote(name).value_or(""));
    return out;
}

Result<WorkQueueAttributes> WorkQueues::get_queue_attributes(std::string_view qname) {
    return attributes_of(call("wq.attributes", qname_args(qname) + "}"));
}

Result<WorkQueueAttributes> WorkQueues::set_queue_attributes(std::string_view qname,
                                                             const WorkQueueOptions& changes) {
    std::string args = qname_args(qname);
    add_options(args, changes);
    return attributes_of(call("wq.set", args + "}"));
}

Result<std::string> WorkQueues::send_message(std::string_view qname, std::string_view message,
                                             std::optional<std::chrono::milliseconds> delay) {
    std::string args = qname_args(qname) + ",\"message\":" + json::quote(message);
    add_ms(args, "delay", delay);
    auto answer = call("wq.send", args + "}");
    if (!answer) return answer.error();
    auto object = json::ObjectView::parse(*answer);
    if (!object) return object.error();
    return object->string("id").value_or("");
}

Result<std::optional<Job>> WorkQueues::receive_message(std::string_view qname,
                                                       const ReceiveOptions& options) {
    std::string args = qname_args(qname);
    add_ms(args, "vt", options.vt);
    add_ms(args, "wait", options.wait);
    return job_of(call("wq.receive", args + "}", options.wait));
}

Result<std::optional<Job>> WorkQueues::pop_message(std::string_view qname,
                                                   std::chrono::milliseconds wait) {
    std::string args = qname_args(qname);
    add_ms(args, "wait", wait);
    return job_of(call("wq.pop", args + "}", wait));
}

Result<bool> WorkQueues::delete_message(std::string_view qname, std::string_view id) {
    auto answer = call("wq.delete", qname_args(qname) + ",\"id\":" + json::quote(id) + "}");
    if (!answer) return answer.error();
    auto object = json::ObjectView::parse(*answer);
    if (!object) return object.error();
    return object->boolean("deleted").value_or(false);
}

Result<std::vector<std::string>> WorkQueues::send_messages(
    std::string_view qname, std::span<const std::string> messages,
    std::optional<std::chrono::milliseconds> delay) {
    if (messages.empty()) return std::vector<std::string>{};
    std::string args = list_args(qname, "messages", messages);
    add_ms(args, "delay", delay);
    auto answer = call("wq.sendBatch", args + "}");
    if (!answer) return answer.error();
    auto ids = list_of(*answer, "ids");
    if (!ids) return ids.error();
    std::vector<std::string> out;
    out.reserve(ids->size());
    for (auto id : *ids) out.push_back(json::unquote(id).value_or(""));
    return out;
}

Result<std::vector<Job>> WorkQueues::receive_messages(std::string_view qname, std::size_t max,
                                                      const ReceiveOptions& options) {
    if (max == 0) return std::vector<Job>{};
    std::string args = qname_args(qname) + ",\"max\":" + std::to_string(max);
    add_ms(args, "vt", options.vt);
    add_ms(args, "wait", options.wait);
    auto answer = call("wq.receiveBatch", args + "}", options.wait);
    if (!answer) return answer.error();
    auto elements = list_of(*answer, "jobs");
    if (!elements) return elements.error();
    std::vector<Job> out;
    out.reserve(elements->size());
    for (auto element : *elements) {
        auto job = job_of_text(element);
        if (!job) return job.error();
        if (*job) out.push_back(std::move(**job));
    }
    return out;
}

Result<std::vector<bool>> WorkQueues::delete_messages(std::string_view qname,
                                                      std::span<const std::string> ids) {
    if (ids.empty()) return std::vector<bool>{};
    auto answer = call("wq.deleteBatch", list_args(qname, "ids", ids) + "}");
    if (!answer) return answer.error();
    auto flags = list_of(*answer, "deleted");
    if (!flags) return flags.error();
    std::vector<bool> out;
    out.reserve(flags->size());
    for (auto flag : *flags) out.push_back(flag == "true");
    return out;
}

Status WorkQueues::change_message_visibility(std::string_view qname, std::string_view id,
                                             std::chrono::milliseconds vt) {
    auto answer = call("wq.visibility", qname_args(qname) + ",\"id\":" + json::quote(id) +
                                            ",\"vt\":" + std::to_string(vt.count()) + "}");
    return answer ? Status{} : Status{answer.error()};
}

}  // namespace adashta
