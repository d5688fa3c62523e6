// Integration: the id a client gives its produce makes a resend idempotent for that client
// only. Two clients that pick the same id send two messages; one client that sends its id
// twice sends one (docs/protocol.md, produce).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Child, Edge, WsClient, adashtaBin, requireBinaries, runCli, waitFor } from '../lib/cluster.mjs';

async function produced(client, frame) {
  for (let tries = 0; ; tries++) {
    const answer = await client.request({ type: 'produce', ...frame });
    if (answer.name !== 'no_consumer' || tries > 50) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stored(edge, queue) {
  const { code, stdout, stderr } = await runCli(['fetch', queue, '--limit', '1000', '--seeds', edge.meshEndpoint]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout).messages.filter((m) => m.client);
}

describe('produce ids are scoped per client', { timeout: 60000 }, () => {
  let edge;
  let node;
  let ada;
  let bob;

  before(async () => {
    requireBinaries();
    edge = new Edge();
    await edge.start();
    node = new Child('consume-orders', adashtaBin, ['consume', 'orders', '--seeds', edge.meshEndpoint]);
    await edge.waitReady({ nodes: 1 });
    ada = await WsClient.connect(edge);
    await ada.hello();
    bob = await WsClient.connect(edge);
    await bob.hello();
  });

  after(async () => {
    await ada?.close();
    await bob?.close();
    await node?.stop();
    await edge?.destroy();
  });

  test('the same id from two clients is two messages; a resend from one is one', async () => {
    const first = await produced(ada, { queue: 'orders', data: { from: 'ada' }, id: 'order-0042' });
    assert.equal(first.type, 'ack', JSON.stringify(first));
    const other = await produced(bob, { queue: 'orders', data: { from: 'bob' }, id: 'order-0042' });
    assert.equal(other.type, 'ack', JSON.stringify(other));
    assert.notEqual(other.id, first.id, 'bob\'s message is not taken for ada\'s');
    const again = await produced(ada, { queue: 'orders', data: { from: 'ada' }, id: 'order-0042' });
    assert.equal(again.type, 'ack');
    assert.equal(again.id, first.id, 'ada\'s resend is acked as her first copy');
    assert.ok(first.id.startsWith('order-0042.'), `the id keeps what the client chose: ${first.id}`);

    const messages = await waitFor(async () => {
      const got = await stored(edge, 'orders');
      return got.length >= 2 && got;
    }, { what: 'both messages stored' });
    assert.deepEqual(messages.map((m) => m.data.from).sort(), ['ada', 'bob']);
    assert.deepEqual(messages.map((m) => m.id).sort(), [first.id, other.id].sort());
  });
});
