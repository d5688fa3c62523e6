-- The privileged part of every Lua plugin's state (plugins/src/lua_plugin.cpp runs it once,
-- before any plugin code). It builds the sandbox the plugin's files run in and returns the
-- dispatcher that runs one on_http call (and what C++ needs for the others: LAZY, verdict).
-- Nothing here is reachable from the sandbox except through the functions it puts there.
--
-- Arguments (from C++): stopped() - true once the running call is over a limit; log(level,
-- text); read_file(path) - the text of a file inside the plugin's folder, or nil, why;
-- fields(text, t, null) - fills table t with a flat JSON object's members (null members as
-- null) and returns a table of the members whose values are arrays, objects or fractions (raw
-- texts) or nil;
-- json_decode(text, OBJ, ARR, NULL), json_encode(value, OBJ, ARR, NULL, LAZY, fill) - JSON through
-- RapidJSON (plugins/src/lua_json.hpp); name, version, config (the plugin's config as JSON);
-- services, what the edge offers besides the hooks: {produce = bool, store = bool (the
-- manifest's permissions), offered = bool (false: an edge without services, e.g. `adashta
-- plugin test`), send(queue, data, to, user, to_server, session, delay_ms) -> nil | why,
-- get(key) -> JSON text | nil, set(key, text | nil) -> nil | why, keys(prefix) -> table};
-- text_key, data_key: the two light userdata under which a call's msg and client keep their
-- texts until read (below; C++ builds those tables with LAZY, the third value returned, and
-- calls hooks other than on_http itself: verdict, the fourth, reads a value one returned).
local stopped, log, read_file, fields, json_decode, json_encode, name, version, config_text, services,
      text_key, data_key = ...

local raw_load, raw_pcall, raw_xpcall, raw_error = load, pcall, xpcall, error
local raw_resume = coroutine.resume
local setmetatable, getmetatable, select, type, tostring = setmetatable, getmetatable, select, type, tostring
local math_type, string_format, table_concat = math.type, string.format, table.concat

-- A call over a limit must end: whatever caught the error raises it again.
local function rethrow_if_stopped(...)
  if stopped() then raw_error("stopped: over its limit", 0) end
  return ...
end

-- null, and what decoded objects and arrays carry so that {} and [] go back out as they
-- came in (an empty table the plugin makes is an object unless adashta.json.array marks it).
local null = setmetatable({}, { __tostring = function() return "null" end, __metatable = false })
local OBJ, ARR = { __jsontype = "object" }, { __jsontype = "array" }
local function decode(text)
  local value, err = json_decode(text, OBJ, ARR, null)
  if err then raw_error("not JSON: " .. err, 0) end
  return value
end
local LAZY, fill_all  -- msg and client tables, filled when first read (below)
local function encode(value)
  local text, err = json_encode(value, OBJ, ARR, null, LAZY, fill_all)
  if not text then raw_error("the data cannot be sent as JSON: " .. err, 0) end
  return text
end

local sandbox = {}

-- The standard functions a plugin may use. The string table is the one strings index, so
-- string.dump goes from it, and its metatable is hidden.
string.dump = nil
getmetatable("").__metatable = false
for _, key in ipairs({ "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget",
                       "rawlen", "rawset", "select", "setmetatable", "getmetatable", "tonumber",
                       "tostring", "type", "_VERSION" }) do
  sandbox[key] = _G[key]
end
-- A finalizer would run whenever the collector runs, outside any call and its limits.
sandbox.setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    raw_error("setmetatable: __gc finalizers are not available in a plugin", 2)
  end
  return setmetatable(t, mt)
end
sandbox.string, sandbox.table, sandbox.math, sandbox.utf8 = string, table, math, utf8
sandbox.os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime }
sandbox.coroutine = {
  create = coroutine.create, isyieldable = coroutine.isyieldable, running = coroutine.running,
  status = coroutine.status, wrap = coroutine.wrap, yield = coroutine.yield, close = coroutine.close,
  resume = function(co, ...) return rethrow_if_stopped(raw_resume(co, ...)) end,
}
sandbox.pcall = function(f, ...) return rethrow_if_stopped(raw_pcall(f, ...)) end
sandbox.xpcall = function(f, handler, ...)
  return rethrow_if_stopped(raw_xpcall(f, function(e)
    if stopped() then return e end
    return handler(e)
  end, ...))
end
sandbox.load = function(chunk, chunkname, mode, env)
  if mode ~= nil and mode ~= "t" then
    raw_error("load: only text chunks can be loaded in a plugin (mode \"t\")", 2)
  end
  if env == nil then env = sandbox end
  return raw_load(chunk, chunkname, "t", env)
end
sandbox.collectgarbage = function(option, ...)
  option = option or "collect"
  if option ~= "collect" and option ~= "count" and option ~= "step" then
    raw_error("collectgarbage: a plugin may only \"collect\", \"count\" or \"step\"", 2)
  end
  return collectgarbage(option, ...)
end

local function text_of(...)
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  return table_concat(parts, "\t", 1, parts.n)
end
sandbox.print = function(...) log("info", text_of(...)) end

-- require: Lua files of the plugin's own folder ("a.b" is a/b.lua or a/b/init.lua), text only.
local loaded = {}
sandbox.require = function(modname)
  if type(modname) ~= "string" or not modname:match("^[%w_]+[%w_.]*$") or modname:find("..", 1, true) then
    raw_error("require: a module name is letters, digits, _ and dots, like \"lib.format\"", 2)
  end
  local value = loaded[modname]
  if value ~= nil then return value end
  local path = modname:gsub("%.", "/")
  local where = path .. ".lua"
  local text = read_file(where)
  if not text then
    where = path .. "/init.lua"
    text = read_file(where)
  end
  if not text then
    raw_error(string_format("require: module '%s' not found: a plugin requires the Lua files of its own " ..
                            "folder (%s.lua); C modules and system libraries are not available", modname, path), 2)
  end
  local chunk, err = raw_load(text, "@" .. name .. "/" .. where, "t", sandbox)
  if not chunk then raw_error(err, 0) end
  value = chunk(modname)
  if value == nil then value = true end
  loaded[modname] = value
  return value
end

-- The plugin's API (docs/plugins.md, "The adashta table").
local Verdict = {}
local PASS = setmetatable({ kind = "pass" }, Verdict)
local adashta = { name = name, version = version }
adashta.json = {
  null = null,
  decode = decode,
  encode = encode,
  array = function(t) return setmetatable(t or {}, ARR) end,
  object = function(t) return setmetatable(t or {}, OBJ) end,
}
function adashta.pass(...)
  if select("#", ...) == 0 then return PASS end
  return setmetatable({ kind = "pass", data = (...), changed = true }, Verdict)
end
local function check_reason(fn, reason)
  if reason ~= nil and type(reason) ~= "string" then
    raw_error(fn .. ": the reason must be a string", 3)
  end
end
function adashta.drop(reason)
  check_reason("adashta.drop", reason)
  return setmetatable({ kind = "drop", reason = reason }, Verdict)
end
function adashta.reject(reason, code)
  check_reason("adashta.reject", reason)
  if code ~= nil and (math_type(code) ~= "integer" or code < 4000 or code > 4999) then
    raw_error("adashta.reject: a close code is an integer from 4000 to 4999", 2)
  end
  return setmetatable({ kind = "reject", reason = reason, code = code }, Verdict)
end
local levels = { debug = true, info = true, warn = true, error = true }
function adashta.log(level, ...)
  if not levels[level] then
    raw_error("adashta.log: the level is \"debug\", \"info\", \"warn\" or \"error\"", 2)
  end
  log(level, text_of(...))
end
adashta.config = decode(config_text)

-- What a plugin can do besides its hooks (docs/plugins.md): produce messages (permission
-- "produce") and keep state (permission "store"). The state's copy is the edge's, in C++:
-- get decodes a fresh value each time, so changing what it returned changes nothing saved.
local function may(api, permission)
  if not services[permission] then
    raw_error(string_format("%s needs the \"%s\" permission: add it to \"permissions\" in adashta-plugin.json",
                            api, permission), 3)
  end
  if not services.offered then
    raw_error(api .. ": this edge gives plugins no services (adashta plugin test and the unit tests run " ..
              "plugins without an edge's store)", 3)
  end
end
local function check_key(api, key)
  if type(key) ~= "string" then raw_error(api .. ": the key must be a string, not a " .. type(key), 3) end
end
local produce_options = { to = "string", user = "string", toServer = "boolean", session = "string", delayMs = "number" }
function adashta.produce(queue, data, opts)
  may("adashta.produce", "produce")
  if type(queue) ~= "string" then raw_error("adashta.produce: the queue must be a string", 2) end
  if data == nil then raw_error("adashta.produce: the data is missing (any JSON value: a table, string, number, boolean or adashta.json.null)", 2) end
  if opts ~= nil and type(opts) ~= "table" then raw_error("adashta.produce: the options must be a table, like { to = session }", 2) end
  opts = opts or {}
  for key, value in pairs(opts) do
    local want = produce_options[key]
    if not want then
      raw_error("adashta.produce: " .. tostring(key) .. " is not an option (to, user, toServer, session, delayMs)", 2)
    end
    if type(value) ~= want then raw_error(string_format("adashta.produce: %s must be a %s", key, want), 2) end
  end
  local delay = opts.delayMs or 0
  if math_type(delay) ~= "integer" then
    if delay ~= math.floor(delay) then raw_error("adashta.produce: delayMs must be a whole number of milliseconds", 2) end
    delay = math.tointeger(delay) or -1
  end
  local why = services.send(queue, encode(data), opts.to or "", opts.user or "", opts.toServer or false,
                            opts.session or "", delay)
  if why then raw_error(why, 2) end
end
adashta.state = {}
function adashta.state.get(key)
  may("adashta.state.get", "store")
  check_key("adashta.state.get", key)
  local text = services.get(key)
  if text == nil then return nil end
  return decode(text)
end
function adashta.state.set(key, value)
  may("adashta.state.set", "store")
  check_key("adashta.state.set", key)
  local why
  if value == nil then why = services.set(key, nil, "adashta.state.set") else why = services.set(key, encode(value), "adashta.state.set") end
  if why then raw_error(why, 2) end
end
function adashta.state.delete(key)
  may("adashta.state.delete", "store")
  check_key("adashta.state.delete", key)
  local why = services.set(key, nil, "adashta.state.delete")
  if why then raw_error(why, 2) end
end
function adashta.state.keys(prefix)
  may("adashta.state.keys", "store")
  if prefix ~= nil and type(prefix) ~= "string" then raw_error("adashta.state.keys: the prefix must be a string", 2) end
  return setmetatable(services.keys(prefix or ""), ARR)
end
sandbox.adashta = adashta
sandbox._G = sandbox

-- The entry: its file runs once and returns its hooks.
local function load_entry(entry)
  local text, err = read_file(entry)
  if not text then raw_error(err, 0) end
  local chunk, load_err = raw_load(text, "@" .. name .. "/" .. entry, "t", sandbox)
  if not chunk then raw_error(load_err, 0) end
  return chunk()
end

-- A hook's msg and client are tables filled when first read, so that a hook that does not
-- look at them costs no parse: until then their texts wait in the table itself under keys
-- nothing outside this file and lua_plugin.cpp holds (TEXT: its subject or context, DATA:
-- msg's data, until msg.data is read; light userdata, which Lua code cannot make). pairs()
-- and JSON encoding fill them first; the sandbox's next() skips the two keys, so next() and
-- rawget() see only what was read. C++ builds the tables (one call's cost is mostly theirs).
local TEXT, DATA = text_key, data_key
local raw_next = next
local function safe_next(t, key)
  local k, v = raw_next(t, key)
  while k == TEXT or k == DATA do k, v = raw_next(t, k) end
  return k, v
end
sandbox.next = safe_next
local function fill(t)
  local text = rawget(t, TEXT)
  if text == nil then return end
  rawset(t, TEXT, nil)
  local nested = fields(text, t, null)
  if nested then
    for key, raw in pairs(nested) do rawset(t, key, decode(raw)) end
  end
end
local function data_of(t)
  local raw = rawget(t, DATA)
  if raw == nil then return nil end
  rawset(t, DATA, nil)
  local value = decode(raw)
  rawset(t, "data", value)
  return value
end
fill_all = function(t)
  fill(t)
  data_of(t)
end
LAZY = {
  __jsontype = "object",
  __metatable = OBJ,  -- a plugin sees a decoded object's, and cannot take the filling away
  __index = function(t, key)
    fill(t)
    if key == "data" then return data_of(t) end
    return rawget(t, key)
  end,
  __newindex = function(t, key, value)
    fill(t)
    if key == "data" then rawset(t, DATA, nil) end
    rawset(t, key, value)
  end,
  __pairs = function(t)
    fill_all(t)
    return safe_next, t, nil
  end,
}

-- What on_http returned, as the edge reads it (hooks.hpp, "on_http"): nothing (the route
-- is not there: 404), or a table {status = 200, headers = {...}, body = "text" or a table,
-- sent as JSON}.
local function http_answer(v)
  if v == nil then return "pass" end
  if type(v) ~= "table" or getmetatable(v) == Verdict then
    raw_error("on_http returned a " .. (type(v) == "table" and "verdict" or type(v)) ..
              ": return { status = 200, headers = { ... }, body = \"text\" or a table }, or " ..
              "nothing for 404", 0)
  end
  local status = v.status
  if status == nil then status = 200 end
  if math_type(status) ~= "integer" or status < 200 or status > 599 then
    raw_error("on_http: status must be an integer from 200 to 599", 0)
  end
  local headers = setmetatable({}, OBJ)
  if v.headers ~= nil then
    if type(v.headers) ~= "table" then raw_error("on_http: headers must be a table of names to values", 0) end
    for key, value in pairs(v.headers) do
      if type(key) ~= "string" then raw_error("on_http: a header name must be a string", 0) end
      if type(value) == "number" then value = tostring(value) end
      if type(value) ~= "string" then
        raw_error(string_format("on_http: header %s must be a string, not a %s", key, type(value)), 0)
      end
      headers[key:lower()] = value
    end
  end
  local body = v.body
  if body == nil then
    body = ""
  elseif type(body) == "table" then
    body = encode(body)
    if headers["content-type"] == nil then headers["content-type"] = "application/json" end
  elseif type(body) ~= "string" then
    raw_error("on_http: body must be a string or a table (sent as JSON), not a " .. type(body), 0)
  end
  return "pass", encode(setmetatable({ status = status, headers = headers, body = body }, OBJ))
end

-- What a hook other than on_http returned, as the edge reads it: "pass" with the changed
-- data, if any, or "drop" / "reject" with the reason and close code. (C++ calls the hook
-- itself and this only for a value that is not nil.)
local function verdict(hook_name, v)
  if getmetatable(v) ~= Verdict then
    raw_error(string_format("%s returned a %s: return adashta.pass(data), adashta.drop(reason) or " ..
                            "adashta.reject(reason), or nothing to let the message pass unchanged",
                            hook_name, type(v)), 0)
  end
  if v.kind == "pass" then
    if not v.changed then return "pass" end
    return "pass", encode(v.data)
  end
  return v.kind, v.reason or "", v.code or 0
end

-- One on_http call: req (and the client, nil here) are LAZY tables C++ made.
local function dispatch(fn, s, c)
  return http_answer(fn(s, c))
end

return dispatch, load_entry, LAZY, verdict
