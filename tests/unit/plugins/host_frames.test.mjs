// The plugin host's frames and call queue (plugins/host/frames.mjs, call_runs.mjs), without a
// host: frames split anywhere over chunks, 'B' runs handed to a worker in batches around a
// call that failed, answers checked in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, readCallBatch } from '../../../plugins/host/frames.mjs';
import { CallRuns } from '../../../plugins/host/call_runs.mjs';

const frame = (type, text) => {
  const body = Buffer.from(text);
  const f = Buffer.alloc(5 + body.length);
  f.writeUInt32LE(1 + body.length, 0);
  f[4] = type;
  body.copy(f, 5);
  return f;
};

test('a frame split over chunks anywhere comes out whole, once', () => {
  const stream = Buffer.concat([frame(0x41, 'a'.repeat(100_000)), frame(0x42, 'xy'), frame(0x43, ''),
    frame(0x44, 'z'.repeat(70_000))]);
  for (const step of [1, 2, 3, 5, 4096, 65536, stream.length]) {
    const got = [];
    const reader = new FrameReader((type, body) => got.push([type, body.toString()]));
    for (let at = 0; at < stream.length; at += step) reader.push(stream.subarray(at, at + step));
    assert.deepEqual(got.map(([t, b]) => [t, b.length]), [[0x41, 100_000], [0x42, 2], [0x43, 0], [0x44, 70_000]], `step ${step}`);
    assert.equal(got[1][1], 'xy');
  }
});

test('a frame length out of range is refused as soon as it is read', () => {
  const reader = new FrameReader(() => {});
  reader.push(Buffer.from([0, 0]));
  assert.throws(() => reader.push(Buffer.from([0, 0xff, 1])), /out of step/);
});

// count calls as a 'B' frame carries them: [u8 hook][subject][data][context], each u32 + text.
function calls(count, from = 0) {
  const parts = [];
  for (let i = from; i < from + count; i++) {
    const texts = [`{"queue":"q","id":"m${i}"}`, `{"n":${i}}`, '{"session":"s"}'].map((t) => Buffer.from(t));
    parts.push(Buffer.from([2]));
    for (const t of texts) {
      const n = Buffer.alloc(4);
      n.writeUInt32LE(t.length);
      parts.push(n, t);
    }
  }
  return Buffer.concat(parts);
}

test('call runs: batches of at most max from one run, a failed call waits for the head', () => {
  const q = new CallRuns();
  q.push(100, 3, calls(3));
  q.push(500, 2, calls(2, 3));
  assert.equal(q.length, 5);
  assert.equal(q.idAt(3), 500);
  assert.equal(q.hookAt(4), 2);

  const first = q.batchFrom(0, 2);
  assert.equal(first.count, 2);
  const read = readCallBatch(new Uint8Array(first.batch.buffer, first.batch.byteOffset, first.batch.byteLength));
  assert.deepEqual(read.map((c) => [c.id, c.hook, c.data]), [[100, 2, '{"n":0}'], [101, 2, '{"n":1}']]);
  assert.equal(read[1].subject, '{"queue":"q","id":"m1"}');
  assert.equal(read[1].context, '{"session":"s"}');
  // The rest of the first run, then the second run: a batch never spans two runs.
  assert.deepEqual(readCallBatch(q.batchFrom(2, 10).batch).map((c) => c.id), [102]);
  assert.deepEqual(readCallBatch(q.batchFrom(3, 10).batch).map((c) => c.id), [500, 501]);

  q.setFailed(1, [2, 'stopped']);
  assert.equal(q.batchFrom(0, 10).count, 1);  // stops before the failed call
  assert.equal(q.batchFrom(1, 10), null);
  assert.equal(q.shiftAnswered([100]), true);
  assert.deepEqual(q.failedAt(0), [2, 'stopped']);
  assert.deepEqual(q.shift(), { id: 101, failed: [2, 'stopped'] });
  assert.equal(q.failedAt(0), undefined);
  assert.equal(q.shiftAnswered([103]), false);  // not the head's id
  assert.deepEqual(q.clear(), [102, 500, 501]);
  assert.equal(q.length, 0);
});

test('a run whose calls run past its bytes is refused', () => {
  const q = new CallRuns();
  assert.throws(() => q.push(1, 3, calls(2)), /out of step/);
});
