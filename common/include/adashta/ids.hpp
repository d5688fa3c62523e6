// Identifiers: message ids (sortable by time), session ids and node ids (random).
#pragma once

#include <cstdint>
#include <string>

namespace adashta {

// 26-character Crockford base32: 48 bits of milliseconds then 80 bits that increase
// within one millisecond from a random start, so ids from one process sort by creation.
// Thread-safe.
std::string new_message_id();
// "s-" + 32 random hex characters (128 bits), a valid session id.
std::string new_session_id();
// 32 random hex characters (128 bits); used as a node's mesh identity.
std::string new_node_id();
// Milliseconds since the Unix epoch.
std::int64_t now_ms();

}  // namespace adashta
