// The echo server node on Node.js: consumes the queue "echo" and sends each message's data
// back to the client that sent it, on the same queue. The same program as
// examples/echo/echo.cpp and examples/go/echo.
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 node examples/node/echo/server.mjs
import { Adashta } from 'adashta';

const adashta = new Adashta({ name: 'echo-node' });   // seeds etc. from ADASHTA_* variables
adashta.consume('echo', async (msg) => {
  // Resolving acknowledges the message; a throw or rejection leaves it to come again.
  await adashta.produce('echo', msg.data, { to: msg.client });
});
adashta.on('error', (err) => console.error(`echo: ${err.message}`));
await adashta.connect();
console.error(`echo: consuming "echo" at ${adashta.endpoint}`);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => adashta.close());
