// The edge's plugin tests (tests/integration/plugins_edge.test.mjs): each hook does what a
// test asks for through the message's text.
const tag = adashta.config.tag ?? 'js';

export function on_connect(client) {
  if (client.path.includes('refuse=js')) return adashta.reject('js says go away', 4403);
}

export function on_disconnect() {}

export async function on_message(msg, client) {
  const text = msg.data?.text;
  if (text === 'drop') return adashta.drop('dropped on purpose');
  if (text === 'bad') return adashta.reject('no bad words');
  if (text === 'loop') for (;;);
  if (text === 'bomb') {
    const keep = [];
    for (;;) keep.push('x'.repeat(1 << 22) + keep.length);
  }
  if (text === 'slow') await new Promise((resolve) => setTimeout(resolve, 20));
  return adashta.pass({
    ...msg.data,
    text: typeof text === 'string' ? text.toUpperCase() : text,
    by: tag,
    session: client.session,
  });
}

export function on_deliver(msg, client) {
  if (msg.data && typeof msg.data === 'object') {
    // The test node's fan-out: {"node": ..., "data": {"fanout": {"only": SESSION}}}
    const only = msg.data.data?.fanout?.only;
    if (only && only !== client.session) return adashta.drop('not for this recipient');
    return adashta.pass({ ...msg.data, recipient: client.session });
  }
}

export function on_produce(msg, node) {
  if (msg.data && typeof msg.data === 'object') return adashta.pass({ ...msg.data, stamp: `${tag}:${node.node}` });
}
