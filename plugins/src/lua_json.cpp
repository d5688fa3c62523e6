#include "lua_json.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <string>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace adashta::plugins::lua_json {

namespace {

// Stack slots: 1 text, 2 OBJ, 3 ARR, 4 NULL; the value under construction above them.
constexpr int kObjectMeta = 2, kArrayMeta = 3, kNull = 4;
// encode's: 5 LAZY (the metatable of tables filled when first read), 6 their fill function.
constexpr int kLazyMeta = 5, kFill = 6;

// Builds the value on the Lua stack. Every container open is one Level: its table sits on
// the stack, with the pending key above it while an object waits for the member's value.
class Builder {
public:
    explicit Builder(lua_State* L) : L_(L) {}

    bool Null() { return value([this] { lua_pushvalue(L_, kNull); }); }
    bool Bool(bool b) { return value([&] { lua_pushboolean(L_, b); }); }
    bool Int(int i) { return Int64(i); }
    bool Uint(unsigned u) { return Int64(u); }
    bool Int64(std::int64_t i) { return value([&] { lua_pushinteger(L_, static_cast<lua_Integer>(i)); }); }
    bool Uint64(std::uint64_t u) {
        if (u <= static_cast<std::uint64_t>(INT64_MAX)) return Int64(static_cast<std::int64_t>(u));
        return Double(static_cast<double>(u));
    }
    bool Double(double d) { return value([&] { lua_pushnumber(L_, d); }); }
    bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        return value([&] { lua_pushlstring(L_, s, n); });
    }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (!lua_checkstack(L_, 4)) return false;
        lua_pushlstring(L_, s, n);
        return true;
    }
    bool StartObject() { return open(kObjectMeta, false); }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool StartArray() { return open(kArrayMeta, true); }
    bool EndArray(rapidjson::SizeType) { return close(); }

    bool too_deep() const { return too_deep_; }

private:
    struct Level {
        bool array;          // array: members go to index next; object: to the pending key
        lua_Integer next;    // the next array index
    };

    template <class Push>
    bool value(Push push) {
        if (!lua_checkstack(L_, 4)) return false;
        push();
        return placed();
    }
    // The value on top goes into the container it belongs to (none: it is the result).
    bool placed() {
        if (depth_ == 0) return true;
        Level& level = levels_[depth_ - 1];
        if (level.array) lua_rawseti(L_, -2, level.next++);
        else lua_rawset(L_, -3);  // table, key, value
        return true;
    }
    bool open(int meta, bool array) {
        if (depth_ == kMaxDepth) {
            too_deep_ = true;
            return false;
        }
        if (!lua_checkstack(L_, 4)) return false;
        lua_newtable(L_);
        lua_pushvalue(L_, meta);
        lua_setmetatable(L_, -2);
        levels_[depth_++] = Level{array, 1};
        return true;
    }
    bool close() {
        --depth_;
        return placed();
    }

    lua_State* L_;                 // the state the value is built in
    Level levels_[kMaxDepth] = {};  // the containers open now (trivially destructible)
    int depth_ = 0;                // how many are open
    bool too_deep_ = false;        // decoding stopped at kMaxDepth
};

// Strings that are not UTF-8 are refused rather than written as invalid JSON.
using Writer = rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                 rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>;

// Whether the table at index is written as an array, and its length then.
bool is_array(lua_State* L, int index, lua_Integer& length) {
    if (lua_getmetatable(L, index)) {
        const bool marked = lua_rawequal(L, -1, kArrayMeta + 0) != 0;
        lua_pop(L, 1);
        if (marked) {
            length = static_cast<lua_Integer>(lua_rawlen(L, index));
            return true;
        }
    }
    length = static_cast<lua_Integer>(lua_rawlen(L, index));
    if (length == 0) return false;  // {} is an object unless marked
    lua_Integer count = 0;
    lua_pushnil(L);
    while (lua_next(L, index)) {
        lua_pop(L, 1);
        ++count;
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > length) {
            lua_pop(L, 1);
            return false;
        }
    }
    return count == length;
}

// A table still waiting to be filled (metatable LAZY) gets its fields now, through the
// prelude's fill in a protected call (an error stays inside it). False when that failed.
bool filled(lua_State* L, int index, const char*& why) {
    if (lua_isnil(L, kLazyMeta) || !lua_getmetatable(L, index)) return true;
    const bool lazy = lua_rawequal(L, -1, kLazyMeta) != 0;
    lua_pop(L, 1);
    if (!lazy) return true;
    lua_pushvalue(L, kFill);
    lua_pushvalue(L, index);
    if (lua_pcall(L, 1, 0, 0) == LUA_OK) return true;
    lua_pop(L, 1);
    why = "a message or client whose fields could not be read";
    return false;
}

// Writes the value at index (absolute); false with why set when it cannot be JSON.
bool write(lua_State* L, int index, Writer& out, int depth, const char*& why) {
    switch (lua_type(L, index)) {
        case LUA_TNIL: return out.Null();
        case LUA_TBOOLEAN: return out.Bool(lua_toboolean(L, index) != 0);
        case LUA_TNUMBER:
            if (lua_isinteger(L, index)) return out.Int64(static_cast<std::int64_t>(lua_tointeger(L, index)));
            if (!std::isfinite(lua_tonumber(L, index))) {
                why = "NaN and infinity are not JSON numbers";
                return false;
            }
            return out.Double(static_cast<double>(lua_tonumber(L, index)));
        case LUA_TSTRING: {
            std::size_t size = 0;
            const char* s = lua_tolstring(L, index, &size);
            why = "a string is not valid UTF-8";
            return out.String(s, static_cast<rapidjson::SizeType>(size));
        }
        case LUA_TTABLE: break;
        default:
            if (lua_rawequal(L, index, kNull)) return out.Null();
            why = "only tables, strings, numbers, booleans and adashta.json.null can be JSON";
            return false;
    }
    if (lua_rawequal(L, index, kNull)) return out.Null();
    if (depth >= kMaxDepth || !lua_checkstack(L, 6)) {
        why = "nested too deep (or a table that contains itself)";
        return false;
    }
    if (!filled(L, index, why)) return false;
    lua_Integer length = 0;
    if (is_array(L, index, length)) {
        out.StartArray();
        for (lua_Integer i = 1; i <= length; ++i) {
            lua_rawgeti(L, index, i);
            const bool ok = write(L, lua_gettop(L), out, depth + 1, why);
            lua_pop(L, 1);
            if (!ok) return false;
        }
        return out.EndArray();
    }
    out.StartObject();
    lua_pushnil(L);
    while (lua_next(L, index)) {
        // Keys: strings, and integers written as their digits (Lua's t[1] in an object).
        const int type = lua_type(L, -2);
        if (type == LUA_TSTRING) {
            std::size_t size = 0;
            const char* key = lua_tolstring(L, -2, &size);
            if (!out.Key(key, static_cast<rapidjson::SizeType>(size))) {
                lua_pop(L, 2);
                why = "a key is not valid UTF-8";
                return false;
            }
        } else if (type == LUA_TNUMBER && lua_isinteger(L, -2)) {
            const std::string key = std::to_string(lua_tointeger(L, -2));
            out.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
        } else {
            lua_pop(L, 2);
            why = "an object's keys must be strings or integers";
            return false;
        }
        const bool ok = write(L, lua_gettop(L), out, depth + 1, why);
        lua_pop(L, 1);
        if (!ok) {
            lua_pop(L, 1);
            return false;
        }
    }
    return out.EndObject();
}

}  // namespace

int decode(lua_State* L) {
    std::size_t size = 0;
    const char* text = luaL_checklstring(L, 1, &size);
    lua_settop(L, 4);
    Builder builder(L);
    rapidjson::Reader reader;
    rapidjson::MemoryStream stream(text, size);
    constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag |
                                rapidjson::kParseFullPrecisionFlag;
    const rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
    if (!result) {
        lua_settop(L, 4);
        lua_pushnil(L);
        const std::string why =
            builder.too_deep()
                ? "nested deeper than " + std::to_string(kMaxDepth) + " levels"
                : std::string{rapidjson::GetParseError_En(result.Code())} + " (byte " +
                      std::to_string(result.Offset()) + ")";
        lua_pushlstring(L, why.data(), why.size());
        return 2;
    }
    return 1;
}

int encode(lua_State* L) {
    luaL_checkany(L, 1);
    lua_settop(L, 6);
    rapidjson::StringBuffer buffer;
    Writer out(buffer);
    const char* why = "a string is not valid UTF-8";
    if (!write(L, 1, out, 0, why)) {
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
    }
    lua_pushlstring(L, buffer.GetString(), buffer.GetSize());
    return 1;
}

}  // namespace adashta::plugins::lua_json
