// RSMQ clients for the rsmq_* tools: one RedisSMQ (one Redis connection) per loop,
// as separate workers would have, after checking that Redis answers at all.
//
//   const endpoint = parse_endpoint(flags.redis);          // "PORT" or "HOST:PORT"
//   await ensure_redis_reachable(endpoint, "rsmq_wq");      // exits 1 when it is not
//   const clients = open_clients(endpoint, 16);
//   await recreate_queue(clients[0], "benchwq");
//   await close_clients(clients);
import { connect } from "node:net";
import RedisSMQ from "rsmq";

export function parse_endpoint(text) {
  const [host, port] = String(text).includes(":") ? String(text).split(":") : ["127.0.0.1", text];
  return { host, port: Number(port) };
}

// node_redis retries a refused connection forever and RSMQ hides the error,
// so probe with a plain TCP connect first and say what to start.
export function ensure_redis_reachable({ host, port }, tool) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const fail = (why) => {
      process.stderr.write(
        `${tool}: cannot reach Redis at ${host}:${port} (${why}); ` +
          `start one with: redis-server --port ${port} --bind ${host} --save '' --appendonly no\n`,
      );
      process.exit(1);
    };
    socket.setTimeout(2000, () => fail("timeout"));
    socket.once("error", (error) => fail(error.code ?? error.message));
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
  });
}

export function open_clients({ host, port }, count) {
  return Array.from({ length: count }, () => new RedisSMQ({ host, port, ns: "rsmq" }));
}

// Deletes the queue if a previous run left it, then creates it empty.
export async function recreate_queue(client, qname) {
  try {
    await client.deleteQueueAsync({ qname });
  } catch (error) {
    if (error.name !== "queueNotFound") throw error;
  }
  await client.createQueueAsync({ qname, vt: 30, delay: 0, maxsize: -1 });
}

export async function close_clients(clients) {
  await Promise.all(clients.map((client) => client.quitAsync()));
}
