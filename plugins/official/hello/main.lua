-- hello: the smallest useful plugin, and the bundled hub's example package. Every message a
-- browser produces whose data is a JSON object gets a "greeting" field (config "greeting",
-- default "hello"); other data passes unchanged.
local greeting = adashta.config.greeting or "hello"

return {
  on_message = function(msg, client)
    if type(msg.data) ~= "table" then return end
    msg.data.greeting = greeting .. ", " .. (client and client.user or "guest")
    return adashta.pass(msg.data)
  end,
}
