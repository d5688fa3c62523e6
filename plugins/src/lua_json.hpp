// JSON ⇄ Lua values through RapidJSON (the one JSON library of the plugin runtimes): a SAX
// reader that builds Lua tables, and a writer that walks them.
//
// Both run as C functions inside a plugin's state with the memory cap suspended (no Lua
// allocation may raise past the C++ objects in them); they report errors as nil, message.
//
//   decode(text, OBJ, ARR, NULL) → value | nil, why   objects get metatable OBJ, arrays ARR,
//                                                     null is the NULL sentinel
//   encode(value, OBJ, ARR, NULL[, LAZY, fill])        a table is an array when its metatable
//         → text | nil, why                           is ARR, or when it is a non-empty
//                                                     sequence 1..n with no other keys; a
//                                                     table with metatable LAZY is filled
//                                                     by fill(table) first (a hook's msg and
//                                                     client, filled when first read)
#pragma once

struct lua_State;

namespace adashta::plugins::lua_json {

inline constexpr int kMaxDepth = 64;  // nesting that decode and encode accept

int decode(lua_State* L);
int encode(lua_State* L);

}  // namespace adashta::plugins::lua_json
