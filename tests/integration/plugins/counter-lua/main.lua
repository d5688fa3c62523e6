-- Counts the messages of its queue in the edge's store, tells every consumer of
-- lcount.news the count, and hands every tenth one to a server node on plain.work.
return {
  on_message = function(msg, client)
    local n = (adashta.state.get("count") or 0) + 1
    adashta.state.set("count", n)
    adashta.produce("lcount.news", { count = n, from = client.session })
    if msg.data.toServer then
      adashta.produce("plain.work", { counted = n, plugin = "counter-lua" }, { toServer = true })
    end
    return adashta.drop("counted")
  end,
}
