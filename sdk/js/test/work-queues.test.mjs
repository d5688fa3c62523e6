// Work queues with RSMQ's names and units (seconds): every operation, long poll, batches,
// max-receive and dead-lettering; and the same in ms.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinedNode, startEdge } from './helpers.mjs';

test('an RSMQ worker loop: create, send, receive, delete, attributes, list, drop (seconds)', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const rsmq = node.workQueues();
  assert.equal(await rsmq.createQueue({ qname: 'jobs', vt: 30, delay: 0, maxsize: -1 }), 1);
  await assert.rejects(rsmq.createQueue({ qname: 'jobs' }), (e) => e.codeName === 'queue_exists');
  const id = await rsmq.sendMessage({ qname: 'jobs', message: 'resize 42' });
  const job = await rsmq.receiveMessage({ qname: 'jobs' });
  assert.equal(job.id, id);
  assert.equal(job.message, 'resize 42');
  assert.equal(job.rc, 1);
  assert.ok(job.sent > 1e12 && job.fr >= job.sent, JSON.stringify(job));
  assert.deepEqual(await rsmq.receiveMessage({ qname: 'jobs' }), {}, 'a received job is hidden for vt');
  assert.equal(await rsmq.changeMessageVisibility({ qname: 'jobs', id, vt: 0 }), 1);
  assert.equal((await rsmq.receiveMessage({ qname: 'jobs', vt: 5 })).rc, 2);
  assert.equal(await rsmq.deleteMessage({ qname: 'jobs', id }), 1);
  assert.equal(await rsmq.deleteMessageAsync({ qname: 'jobs', id }), 0);
  const attributes = await rsmq.getQueueAttributes({ qname: 'jobs' });
  assert.equal(attributes.vt, 30);
  assert.equal(attributes.totalsent, 1);
  assert.ok(attributes.created > 1e9 && attributes.created < 1e11, `created in seconds: ${attributes.created}`);
  assert.equal((await rsmq.setQueueAttributes({ qname: 'jobs', vt: 2 })).vt, 2);
  assert.deepEqual(await rsmq.listQueues(), ['jobs']);
  assert.equal(await rsmq.deleteQueue({ qname: 'jobs' }), 1);
  await assert.rejects(rsmq.receiveMessage({ qname: 'jobs' }), (e) => e.codeName === 'unknown_queue' && e.code === 4105);
});

test('a long poll waits for the next send; popMessage deletes as it receives', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const wq = node.workQueues({ units: 'ms' });
  await wq.createQueue({ qname: 'poll', vt: 10000 });
  const start = Date.now();
  const waiting = wq.receiveMessage({ qname: 'poll', wait: 5000 });
  // Other calls are not held up by the waiting one.
  assert.deepEqual(await wq.popMessage({ qname: 'poll' }), {});
  await wq.sendMessage({ qname: 'poll', message: 'wake up' });
  assert.equal((await waiting).message, 'wake up');
  assert.ok(Date.now() - start < 4000);
  await wq.sendMessage({ qname: 'poll', message: 'pop me' });
  assert.equal((await wq.popMessage({ qname: 'poll', wait: 1000 })).message, 'pop me');
  assert.equal((await wq.getQueueAttributes({ qname: 'poll' })).msgs, 1, 'the popped job is gone, the received one stays');
  const empty = Date.now();
  assert.deepEqual(await wq.receiveMessage({ qname: 'poll', wait: 300 }), {});
  assert.ok(Date.now() - empty >= 250, 'wait ran out');
});

test('batches, and a job received maxReceive times moves to the dead-letter queue', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const wq = node.workQueues({ units: 'ms' });
  await wq.createQueue({ qname: 'dead' });
  await wq.createQueue({ qname: 'work', vt: 0, maxReceive: 2, deadLetter: 'dead' });
  const ids = await wq.sendMessageBatch({ qname: 'work', messages: ['a', 'b', 'c'] });
  assert.equal(ids.length, 3);
  const jobs = await wq.receiveMessageBatch({ qname: 'work', max: 10, vt: 60000 });
  assert.deepEqual(jobs.map((j) => j.message).sort(), ['a', 'b', 'c']);
  assert.deepEqual(await wq.deleteMessageBatch({ qname: 'work', ids: [ids[0], ids[1], 'nope'] }), [true, true, false]);
  await wq.changeMessageVisibility({ qname: 'work', id: ids[2], vt: 0 });
  assert.equal((await wq.receiveMessage({ qname: 'work', vt: 0 })).rc, 2);
  // A third receive would pass maxReceive: the job goes to the dead-letter queue instead.
  assert.deepEqual(await wq.receiveMessage({ qname: 'work' }), {});
  const dead = await wq.receiveMessage({ qname: 'dead' });
  assert.equal(dead.message, 'c');
  const attributes = await wq.getQueueAttributes({ qname: 'work' });
  assert.equal(attributes.totaldead, 1);
  assert.equal(attributes.maxReceive, 2);
  assert.equal(attributes.deadLetter, 'dead');
});

test('bad work-queue input gets the catalogue error', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const wq = node.workQueues();
  await assert.rejects(wq.sendMessage({ qname: 'x', message: { not: 'a string' } }), (e) => e.codeName === 'bad_data');
  await assert.rejects(wq.receiveMessage({ qname: 'x', vt: -1 }), (e) => e.codeName === 'bad_timeout');
  await wq.createQueue({ qname: 'x' });
  await assert.rejects(wq.receiveMessage({ qname: 'x', wait: 3600 }), (e) => e.codeName === 'bad_timeout');
});
