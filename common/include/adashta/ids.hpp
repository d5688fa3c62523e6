// Identifiers: message ids (sortable by time), session ids and node ids (random).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace adashta {

// 26-character Crockford base32: 48 bits of milliseconds then 80 bits that increase
// within one millisecond from a random start, so ids from one process sort by creation.
// Thread-safe.
std::string new_message_id();
// The id a producer chose (a browser's produce "id"), made its own: id + "." + 13 base32
// characters that only producer (its session id) gives. A resend from the same producer
// finds its first copy; the same id from another producer is another message. No chosen
// id contains "." (is_valid_message_id), so scoped ids never meet generated ones.
std::string scoped_message_id(std::string_view id, std::string_view producer);
// "s-" + 32 random hex characters (128 bits), a valid session id.
std::string new_session_id();
// 32 random hex characters (128 bits); used as a node's mesh identity.
std::string new_node_id();
// Milliseconds since the Unix epoch.
std::int64_t now_ms();

}  // namespace adashta
