-- The privileged part of every Lua plugin's state (plugins/src/lua_plugin.cpp runs it once,
-- before any plugin code). It builds the sandbox the plugin's files run in and returns the
-- dispatcher that runs one hook call. Nothing here is reachable from the sandbox except
-- through the functions it puts there.
--
-- Arguments (from C++): stopped() - true once the running call is over a limit; log(level,
-- text); read_file(path) - the text of a file inside the plugin's folder, or nil, why;
-- json - dkjson's module table, loaded with no globals of its own; name, version, config
-- (the plugin's config as JSON text).
local stopped, log, read_file, json, name, version, config_text = ...

local raw_load, raw_pcall, raw_xpcall, raw_error = load, pcall, xpcall, error
local raw_resume = coroutine.resume
local setmetatable, getmetatable, select, type, tostring = setmetatable, getmetatable, select, type, tostring
local math_type, string_format, table_concat = math.type, string.format, table.concat

-- A call over a limit must end: whatever caught the error raises it again.
local function rethrow_if_stopped(...)
  if stopped() then raw_error("stopped: over its limit", 0) end
  return ...
end

local null = json.null
local function decode(text)
  local value, _, err = json.decode(text, 1, null)
  if err then raw_error(err, 0) end
  return value
end
-- dkjson takes a table whose only key is n (a number) for table.pack's array of n values:
-- {"n":3} would leave as [null,null,null]. Such tables get a metatable that says what they are.
local n_object = { __jsontype = "object", __tojson = function(self) return '{"n":' .. json.encode(self.n) .. '}' end }
local function mark_n_objects(value, seen)
  if type(value) ~= "table" or seen[value] then return end
  seen[value] = true
  local meta = getmetatable(value)
  local key, item = next(value)
  if key == "n" and type(item) == "number" and next(value, key) == nil then
    if meta == nil or (meta.__jsontype == "object" and meta.__tojson == nil) then setmetatable(value, n_object) end
    return
  end
  for _, v in pairs(value) do mark_n_objects(v, seen) end
end
local function encode(value)
  mark_n_objects(value, {})
  local ok, text = raw_pcall(json.encode, value)
  rethrow_if_stopped()
  if not ok then raw_error("the data cannot be sent as JSON: " .. tostring(text), 0) end
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

-- One hook call: the message's data is decoded when the hook first reads msg.data.
local function dispatch(hook_name, fn, subject, data, context)
  local s = decode(subject)
  if data ~= nil then
    setmetatable(s, { __jsontype = "object", __index = function(t, key)
      if key ~= "data" then return nil end
      local value = decode(data)
      rawset(t, "data", value)
      return value
    end })
  end
  local c = nil
  if context ~= nil then c = decode(context) end
  local v = fn(s, c)
  if v == nil then return "pass" end
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

return dispatch, load_entry
