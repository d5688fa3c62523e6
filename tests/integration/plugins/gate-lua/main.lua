-- The edge's plugin tests (tests/integration/plugins_edge.test.mjs): each hook does what a
-- test asks for through the message's text.
local tag = adashta.config.tag or "lua"

return {
  on_connect = function(client)
    if string.find(client.path, "refuse=lua", 1, true) then
      return adashta.reject("lua says go away", 4403)
    end
  end,

  on_disconnect = function(client, close) end,

  on_message = function(msg, client)
    local text = msg.data.text
    if text == "drop" then return adashta.drop("dropped on purpose") end
    if text == "bad" then return adashta.reject("no bad words") end
    if text == "loop" then while true do end end
    if text == "bomb" then
      local t = {}
      for i = 1, 1e9 do t[i] = string.rep("x", 1 << 20) .. i end
    end
    if type(text) == "string" then msg.data.text = string.upper(text) end
    msg.data.by = tag
    msg.data.session = client.session
    return adashta.pass(msg.data)
  end,

  on_deliver = function(msg, client)
    if type(msg.data) == "table" then
      -- The test node's fan-out: {"node": ..., "data": {"fanout": {"only": SESSION}}}
      local inner = type(msg.data.data) == "table" and msg.data.data.fanout
      if type(inner) == "table" and inner.only and inner.only ~= client.session then
        return adashta.drop("not for this recipient")
      end
      msg.data.recipient = client.session
      return adashta.pass(msg.data)
    end
  end,

  on_produce = function(msg, node)
    if type(msg.data) == "table" then
      msg.data.stamp = tag .. ":" .. node.node
      return adashta.pass(msg.data)
    end
  end,
}
