// The chat server node on Node.js: consumes the queue "chat", where browsers send
// {nick, text}, and broadcasts {nick, text, at} to every browser consuming "chat"; announces
// who comes and goes on "chat.presence". The same program as examples/chat/chat.cpp and
// examples/go/chat, for the same page (examples/chat/web).
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 node examples/node/chat/server.mjs
import { Adashta } from 'adashta';

const MAX_NICK = 32;
const MAX_TEXT = 2000;

const adashta = new Adashta({ name: 'chat-node' });
adashta.consume('chat', async (msg) => {
  const { nick, text } = typeof msg.data === 'object' && msg.data !== null ? msg.data : {};
  if (typeof text !== 'string' || text === '' || text.length > MAX_TEXT) {
    await adashta.produce('chat.errors', { error: 'send {"nick":..., "text":...}' }, { to: msg.client });
    return;
  }
  const name = (typeof nick === 'string' && nick !== '' ? nick : 'guest').slice(0, MAX_NICK);
  await adashta.produce('chat', { nick: name, text, at: msg.createdMs });   // to everyone in "chat"
});
const presence = (event) => adashta.produce('chat.presence', { event })
  .catch((err) => console.error(`chat: presence: ${err.message}`));
adashta.on('connection', ({ resumed }) => { if (!resumed) presence('joined'); });
adashta.on('disconnection', () => presence('left'));
adashta.on('error', (err) => console.error(`chat: ${err.message}`));
await adashta.connect();
console.error(`chat: consuming "chat" at ${adashta.endpoint}`);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => adashta.close());
