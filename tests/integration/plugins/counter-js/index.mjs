// Counts the messages of its queue in the edge's store, tells every consumer of
// jcount.news the count once it is stored, and hands some to a server node on plain.work.
export async function on_message(msg, client) {
  const n = (adashta.state.get('count') ?? 0) + 1;
  adashta.state.set('count', n);
  await adashta.produce('jcount.news', { count: n, from: client.session });
  if (msg.data.toServer) await adashta.produce('plain.work', { counted: n, plugin: 'counter-js' }, { toServer: true });
  return adashta.drop('counted');
}
