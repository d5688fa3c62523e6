// Integration: RSMQ-style work queues between server nodes, kept by the edge's store and
// reached over the mesh (adashta::WorkQueues in adashta-test-worker, `adashta queues` in the
// shell): competing workers, visibility timeouts in milliseconds, pop, attributes, long
// polls, and the documented errors.
//
//   cd tests && node --test integration/work_queues.test.mjs     (ADASHTA_BUILD_DIR=../build;
//   ADASHTA_TEST_WORKER=path/to/adashta-test-worker to use one built elsewhere)
//
// One edge; every worker and producer is its own process. Workers print what they got with
// the wall-clock time around each receive call, and the edge stamps each job with its own
// times (sent, fr); all share the machine's clock, so the checks below are exact bounds,
// not guesses: a job received at edge time t lies within [before, after] of its call.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Edge, requireBinaries, requireTestWorker, runCli, startTestWorker, waitFor,
} from '../lib/cluster.mjs';

const JOBS = 1000;
const WORKERS = 4;
const VT_MS = 2000;      // the competing workers' visibility timeout
const FORGET_EVERY = 10; // each worker leaves every 10th job it gets undeleted

/** p50/p99/max of a list of numbers, for the printed figures. */
function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, min: sorted[0], p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

/**
 * A worker's receives, in order, from its lines: { id, rc, sent, fr, before, after, worker,
 * body, outcome: 'kept' | 'deleted' | 'not-deleted' | undefined, deletedAt }.
 */
function receivesOf(worker) {
  const out = [];
  for (const { text } of worker.lines.list) {
    const f = text.split(' ');
    if (f[0] === 'job') {
      out.push({ id: f[1], rc: Number(f[2]), sent: Number(f[3]), fr: Number(f[4]), before: Number(f[5]),
        after: Number(f[6]), worker: f[7], body: f.slice(8).join(' ') });
    } else if (f[0] === 'kept' || f[0] === 'deleted') {
      const last = out.at(-1);
      assert.equal(last?.id, f[1], `${worker.name}: "${text}" does not follow its job line`);
      last.outcome = f[0] === 'kept' ? 'kept' : (f[2] === 'true' ? 'deleted' : 'not-deleted');
      if (f[0] === 'deleted') last.deletedAt = Number(f[3]);
    }
  }
  return out;
}

function errorLines(worker) {
  return worker.lines.list.filter((l) => l.text.startsWith('error ')).map((l) => l.text);
}

describe('work queues over the mesh', { timeout: 200000 }, () => {
  let edge;
  const workers = [];  // every worker process, stopped in after()

  before(async () => {
    requireBinaries();
    requireTestWorker();
    edge = new Edge();
    await edge.start();
    await edge.waitReady();
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await edge?.destroy();
  });

  /** `adashta queues ARGS --seeds EDGE`: { code, stdout, stderr, json, ms }. */
  async function queues(...args) {
    const started = Date.now();
    const run = await runCli(['queues', ...args, '--seeds', edge.meshEndpoint], { timeout: 40000 });
    let json;
    try { json = JSON.parse(run.stdout); } catch { json = undefined; }
    return { ...run, json, ms: Date.now() - started };
  }

  /** A queues command that must succeed; its JSON answer. */
  async function ok(...args) {
    const run = await queues(...args);
    assert.equal(run.code, 0, `adashta queues ${args.join(' ')} failed: ${run.stderr}`);
    assert.notEqual(run.json, undefined, `adashta queues ${args.join(' ')} printed no JSON: ${run.stdout}`);
    return run.json;
  }

  /** A queues command that must fail with the catalogue error `name` (exit 1, stderr says it). */
  async function refused(name, ...args) {
    const run = await queues(...args);
    const what = `adashta queues ${args.map((a) => (a.length > 40 ? `<${a.length} bytes>` : a)).join(' ')}`;
    assert.equal(run.code, 1, `${what}: exit ${run.code}, stderr ${run.stderr}`);
    assert.match(run.stderr, new RegExp(`^adashta: ${name}: `), `${what}: stderr ${run.stderr}`);
    assert.equal(run.stdout, '', `${what} printed ${run.stdout}`);
    return run.stderr.trim();
  }

  function worker(args, name) {
    const w = startTestWorker(edge.meshPort, args, { name });
    workers.push(w);
    return w;
  }

  async function stopWorker(w) {
    const { code, signal } = await w.stop();
    assert.equal(code, 0, `${w.name} exited with ${code ?? signal}\n${w.describe()}`);
  }

  /** Resolves once the worker has joined and its first receive is on its way. */
  async function receiving(w) {
    try {
      await w.lines.waitFor((l) => l.startsWith('receiving'), { timeout: 15000, what: `${w.name} to start receiving` });
    } catch (err) {
      err.message += '\n' + w.describe();
      throw err;
    }
  }

  test(`${JOBS} jobs, ${WORKERS} competing workers: one worker per job per visibility timeout, ` +
    'undeleted jobs come back with rc + 1, all end deleted', { timeout: 120000 }, async () => {
    await ok('create', 'jobs', '--vt', `${VT_MS}ms`);
    const pool = [];
    for (let i = 1; i <= WORKERS; i++) {
      pool.push(worker(['--consume', '--queue', 'jobs', '--vt-ms', String(VT_MS),
        '--forget-every', String(FORGET_EVERY)], `w${i}`));
    }
    await Promise.all(pool.map(receiving));

    const producer = worker(['--produce', String(JOBS), '--queue', 'jobs'], 'producer');
    const produced = await producer.exit;
    assert.equal(produced.code, 0, producer.describe());
    const sent = new Map(producer.lines.fields('sent').map((f) => [f[1], f[2]]));  // id -> body
    assert.equal(sent.size, JOBS, 'the producer got a distinct id for every job');
    const produceMs = Number(producer.lines.fields('produced')[0][2]);

    // Done when every job was deleted once (each worker prints "deleted ID true").
    const deletedCount = () => pool.reduce((n, w) => n + w.lines.fields('deleted').filter((f) => f[2] === 'true').length, 0);
    await waitFor(() => deletedCount() >= JOBS, {
      timeout: 60000, what: `all ${JOBS} jobs deleted (${deletedCount()} so far)`,
    });
    const attributes = await ok('attributes', 'jobs');
    await Promise.all(pool.map(stopWorker));
    for (const w of pool) assert.deepEqual(errorLines(w), [], `${w.name} printed errors`);

    const receives = pool.flatMap(receivesOf);
    const byId = new Map();
    for (const r of receives) {
      assert.ok(sent.has(r.id), `${r.worker} received ${r.id}, which was never sent`);
      assert.equal(r.body, sent.get(r.id), `job ${r.id} came with the wrong body`);
      if (!byId.has(r.id)) byId.set(r.id, []);
      byId.get(r.id).push(r);
    }
    assert.equal(byId.size, JOBS, `${JOBS - byId.size} jobs were never received`);

    const backAfter = [];     // ms past vt at which a kept job was received again (rc 2)
    const deleteMs = [];      // receive answered -> delete answered
    let kept = 0;
    for (const [id, list] of byId) {
      list.sort((a, b) => a.rc - b.rc);
      const history = () => list.map((r) => `${r.worker} rc=${r.rc} ${r.before}..${r.after} ${r.outcome}`).join('; ');
      // rc counts receives: 1, 2, 3, ... with no repeat (a repeat = two workers got the
      // same delivery) and no hole.
      assert.deepEqual(list.map((r) => r.rc), list.map((_, i) => i + 1), `job ${id}: ${history()}`);
      for (let k = 1; k < list.length; k++) {
        // The edge handed out receive k at most at list[k].after and receive k-1 at least
        // at list[k-1].before: they must be a visibility timeout apart.
        assert.ok(list[k].after - list[k - 1].before >= VT_MS,
          `job ${id} was received again before its visibility timeout ran out: ${history()}`);
      }
      // Every receive but the last was left undeleted and so came back; the last deleted it.
      list.slice(0, -1).forEach((r) => assert.equal(r.outcome, 'kept', `job ${id}: ${history()}`));
      assert.equal(list.at(-1).outcome, 'deleted', `job ${id} was not deleted by its last receiver: ${history()}`);
      assert.equal(list[0].fr, list.at(-1).fr, `job ${id}: fr (first received) changed: ${history()}`);
      assert.ok(list[0].fr >= list[0].before && list[0].fr <= list[0].after, `job ${id}: fr is not the first receive: ${history()}`);
      kept += list.length - 1;
      // fr is the edge's time of the first receive: the second one came this long after vt.
      if (list.length > 1) backAfter.push(list[1].after - list[0].fr - VT_MS);
      deleteMs.push(list.at(-1).deletedAt - list.at(-1).after);
    }
    const perWorker = pool.map((w) => receivesOf(w).length);
    for (const [i, n] of perWorker.entries()) assert.ok(n > 0, `w${i + 1} got no job: the workers did not compete`);
    assert.ok(kept > 0, 'no job was left undeleted, so none came back');

    assert.equal(attributes.totalsent, JOBS);
    assert.equal(attributes.totalrecv, receives.length, 'totalrecv counts every receive');
    assert.equal(attributes.msgs, 0, 'every job was deleted');
    assert.equal(attributes.hiddenmsgs, 0);

    console.log(`# ${JOBS} jobs sent in ${produceMs} ms; ${receives.length} receives ` +
      `(${kept} came back after vt ${VT_MS} ms); per worker ${perWorker.join('/')}`);
    console.log(`# a kept job reached a worker again this long after its vt ran out (ms): ${JSON.stringify(summary(backAfter))}`);
    console.log(`# delete after receive (ms): ${JSON.stringify(summary(deleteMs))}`);
  });

  test('pop receives and deletes at once, in the order jobs were sent', { timeout: 60000 }, async () => {
    await ok('create', 'popq');
    const ids = [];
    for (const body of ['p0', 'p1', 'p2']) ids.push((await ok('send', 'popq', body)).id);

    const popped = await ok('pop', 'popq');
    assert.equal(popped.id, ids[0]);
    assert.equal(popped.message, 'p0');
    assert.equal(popped.rc, 1);
    assert.ok(popped.sent <= popped.fr, JSON.stringify(popped));
    let attributes = await ok('attributes', 'popq');
    assert.equal(attributes.msgs, 2, 'the popped job is gone');
    assert.equal(attributes.hiddenmsgs, 0, 'a popped job is not merely hidden');
    assert.equal(attributes.totalrecv, 1);
    assert.deepEqual(await ok('delete', 'popq', popped.id), { deleted: false });

    const received = await ok('receive', 'popq', '--vt', '30s');
    assert.equal(received.id, ids[1]);
    assert.equal((await ok('pop', 'popq')).id, ids[2], 'pop skips the hidden job');
    assert.deepEqual(await ok('pop', 'popq'), {}, 'nothing visible is left');
    attributes = await ok('attributes', 'popq');
    assert.equal(attributes.msgs, 1, 'only the received (hidden, undeleted) job is left');
    assert.equal(attributes.hiddenmsgs, 1);
    assert.equal(attributes.totalrecv, 3);

    // A job that was received and came back can be popped: it is deleted then.
    assert.deepEqual(await ok('visibility', 'popq', ids[1], '--vt', '0'), {});
    const again = await ok('pop', 'popq');
    assert.equal(again.id, ids[1]);
    assert.equal(again.rc, 2);
    assert.equal((await ok('attributes', 'popq')).msgs, 0);

    const empty = await queues('pop', 'popq', '--wait', '1200ms');
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual(empty.json, {});
    assert.ok(empty.ms >= 1200, `pop --wait 1200ms on an empty queue returned after ${empty.ms} ms`);
  });

  test('attributes count jobs, hidden jobs, sends and receives', { timeout: 60000 }, async () => {
    const startedAt = Date.now();
    await ok('create', 'attrq', '--vt', '10s', '--maxsize', '2048');
    let a = await ok('attributes', 'attrq');
    assert.equal(a.vt, 10000);
    assert.equal(a.delay, 0);
    assert.equal(a.maxsize, 2048);
    assert.deepEqual([a.msgs, a.hiddenmsgs, a.totalsent, a.totalrecv], [0, 0, 0, 0]);
    assert.ok(a.created >= startedAt - 1000 && a.created <= Date.now(), `created ${a.created}`);
    assert.equal(a.modified, a.created);

    const ids = [];
    for (const body of ['a', 'b', 'c']) ids.push((await ok('send', 'attrq', body)).id);
    await ok('send', 'attrq', 'later', '--delay', '1h');
    a = await ok('attributes', 'attrq');
    assert.deepEqual([a.msgs, a.hiddenmsgs, a.totalsent, a.totalrecv], [4, 1, 4, 0], 'a delayed job is hidden');

    assert.equal((await ok('receive', 'attrq')).id, ids[0]);
    assert.equal((await ok('receive', 'attrq')).id, ids[1]);
    a = await ok('attributes', 'attrq');
    assert.deepEqual([a.msgs, a.hiddenmsgs, a.totalsent, a.totalrecv], [4, 3, 4, 2], 'received jobs are hidden');

    assert.deepEqual(await ok('delete', 'attrq', ids[0]), { deleted: true });
    assert.deepEqual(await ok('visibility', 'attrq', ids[1], '--vt', '0'), {});
    a = await ok('attributes', 'attrq');
    assert.deepEqual([a.msgs, a.hiddenmsgs, a.totalsent, a.totalrecv], [3, 1, 4, 2], 'deleted, and made visible');

    const set = await ok('set', 'attrq', '--vt', '500ms', '--delay', '250ms');
    assert.equal(set.vt, 500);
    assert.equal(set.delay, 250);
    assert.equal(set.maxsize, 2048);
    assert.ok(set.modified >= a.created, JSON.stringify(set));
    assert.equal(set.created, a.created);
    a = await ok('attributes', 'attrq');
    assert.deepEqual([a.vt, a.delay, a.modified], [500, 250, set.modified], 'attributes show what set changed');

    assert.ok((await ok('list')).queues.includes('attrq'));
    assert.deepEqual(await ok('drop', 'attrq'), {});
    assert.ok(!(await ok('list')).queues.includes('attrq'));
    await refused('unknown_queue', 'attributes', 'attrq');
  });

  test('visibility timeouts in milliseconds: 300 ms for the queue, 250 ms for one receive',
    { timeout: 60000 }, async () => {
      await ok('create', 'msq', '--vt', '300ms');
      await ok('create', 'msq2', '--vt', '30s');
      const jobA = (await ok('send', 'msq', 'comes back')).id;
      const jobB = (await ok('send', 'msq2', 'comes back too')).id;
      // --forget-every 1: the workers never delete, so the job comes back after every vt.
      const byQueue = worker(['--consume', '--queue', 'msq', '--forget-every', '1'], 'ms-queue');
      const byReceive = worker(['--consume', '--queue', 'msq2', '--vt-ms', '250', '--forget-every', '1'], 'ms-receive');
      const ROUNDS = 8;
      for (const w of [byQueue, byReceive]) {
        await w.lines.waitFor((l) => l.startsWith('job ') && Number(l.split(' ')[2]) >= ROUNDS,
          { timeout: 20000, what: `${w.name}: the job received ${ROUNDS} times` });
      }
      await Promise.all([stopWorker(byQueue), stopWorker(byReceive)]);

      for (const [w, id, vt] of [[byQueue, jobA, 300], [byReceive, jobB, 250]]) {
        assert.deepEqual(errorLines(w), []);
        const list = receivesOf(w);
        assert.ok(list.every((r) => r.id === id));
        assert.deepEqual(list.map((r) => r.rc), list.map((_, i) => i + 1));
        const periods = [];
        for (let k = 1; k < list.length; k++) {
          assert.ok(list[k].after - list[k - 1].before >= vt,
            `${w.name}: receive ${k + 1} came ${list[k].after - list[k - 1].before} ms after receive ${k}, before vt ${vt} ms`);
          periods.push(list[k].after - list[k - 1].after);
        }
        const s = summary(periods);
        console.log(`# vt ${vt} ms (${w.name}): the job came back every ${JSON.stringify(s)} ms`);
        assert.ok(s.p50 < vt + 100, `${w.name}: the job comes back ${s.p50} ms apart (median), vt is ${vt} ms`);
        assert.ok(s.max < vt + 1000, `${w.name}: the job once came back only after ${s.max} ms, vt is ${vt} ms`);
      }
    });

  test('a receive that waits (long poll) returns as soon as a job is sent', { timeout: 60000 }, async () => {
    await ok('create', 'lp');
    const w = worker(['--consume', '--queue', 'lp', '--wait-ms', '20000'], 'long-poll');
    await receiving(w);
    // "receiving" is printed just before the call: give it a moment to reach the edge and park.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { id } = await ok('send', 'lp', 'wake up');
    await w.lines.waitFor((l) => l.startsWith(`job ${id} `), { timeout: 10000, what: 'the parked receive to get the job' });
    await stopWorker(w);
    const [job] = receivesOf(w);
    assert.ok(job.before < job.sent, `the receive started at ${job.before}, not before the job was sent at ${job.sent}`);
    const latency = job.after - job.sent;
    console.log(`# long poll (SDK, wait 20 s): the job reached the waiting worker ${latency} ms after it was stored ` +
      `(${job.fr - job.sent} ms at the edge); the call had waited ${job.sent - job.before} ms before`);
    assert.ok(latency < 1000, `the waiting receive returned ${latency} ms after the send`);

    // The same through the CLI's --wait: nothing comes -> {} after the wait; a send -> at once.
    await ok('create', 'lp2');
    const idle = await queues('receive', 'lp2', '--wait', '1500ms');
    assert.equal(idle.code, 0, idle.stderr);
    assert.deepEqual(idle.json, {});
    assert.ok(idle.ms >= 1500 && idle.ms < 10000, `receive --wait 1500ms on an empty queue took ${idle.ms} ms`);

    const waiting = queues('receive', 'lp2', '--wait', '20s');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the CLI joins the mesh, then waits
    const sentAt = Date.now();
    const sent = await ok('send', 'lp2', 'for the CLI');
    const got = await waiting;
    const returnedAfter = Date.now() - sentAt;
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.json.id, sent.id);
    console.log(`# long poll (CLI --wait 20s): returned ${returnedAfter} ms after the send began ` +
      `(the send itself is a CLI run: join + call); edge-side fr - sent = ${got.json.fr - got.json.sent} ms`);
    assert.ok(returnedAfter < 5000, `receive --wait 20s returned ${returnedAfter} ms after the send`);
    assert.ok(got.json.fr - got.json.sent < 500, JSON.stringify(got.json));
  });

  test('a delayed job reaches a waiting receive when it falls due, though the receive a send woke gave up before',
    { timeout: 60000 }, async () => {
      // A send wakes one waiting receive (the longest waiting): here the CLI's, whose wait ends
      // before the job is due; the worker's receive, parked after it with a long wait, must
      // still get the job on time, not only when its own wait runs out.
      await ok('create', 'delayq');
      const first = queues('receive', 'delayq', '--wait', '5s');
      await new Promise((resolve) => setTimeout(resolve, 1500)); // the CLI joins the mesh, then waits
      const w = worker(['--consume', '--queue', 'delayq', '--wait-ms', '20000'], 'late-waiter');
      await receiving(w);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { id } = await ok('send', 'delayq', 'later', '--delay', '6s');
      const gaveUp = await first;
      assert.equal(gaveUp.code, 0, gaveUp.stderr);
      assert.deepEqual(gaveUp.json, {}, 'the first receive ended before the job was due');
      await w.lines.waitFor((l) => l.startsWith(`job ${id} `), { timeout: 15000, what: 'the parked receive to get the delayed job' });
      await stopWorker(w);
      const [job] = receivesOf(w);
      const late = job.after - (job.sent + 6000);
      console.log(`# delayed job, its first woken receive gone: reached the other waiting receive ${late} ms after it fell due`);
      assert.ok(late >= -1 && late < 2000, `the delayed job reached the waiting receive ${late} ms after it fell due`);
    });

  test('batches: many jobs per send, receive and delete call, each job to one worker', { timeout: 60000 }, async () => {
    const BATCH_JOBS = 500;
    await ok('create', 'batchq', '--vt', '30s');
    const ws = [worker(['--consume', '--queue', 'batchq', '--batch', '7', '--wait-ms', '5000'], 'batch-1'),
      worker(['--consume', '--queue', 'batchq', '--batch', '7', '--wait-ms', '5000'], 'batch-2')];
    await Promise.all(ws.map(receiving));
    const p = worker(['--produce', String(BATCH_JOBS), '--queue', 'batchq', '--batch', '50'], 'batch-producer');
    await p.lines.waitFor((l) => l.startsWith('produced '), { timeout: 30000, what: 'the batch producer to finish' });
    const sent = new Map(p.lines.list.filter((l) => l.text.startsWith('sent '))
      .map((l) => { const [, id, body] = l.text.split(' '); return [id, body]; }));
    assert.equal(sent.size, BATCH_JOBS, 'send_messages gave one distinct id per job');
    const deletedCount = () => ws.reduce((n, w) => n + w.lines.list.filter((l) => l.text.startsWith('deleted ')).length, 0);
    await waitFor(() => deletedCount() >= BATCH_JOBS, { timeout: 30000, what: 'every job to be deleted' });
    await Promise.all(ws.map(stopWorker));

    const receives = ws.flatMap(receivesOf);
    assert.equal(receives.length, BATCH_JOBS, 'each job was received once');
    for (const r of receives) {
      assert.equal(sent.get(r.id), r.body, `job ${r.id} came with the body it was sent with`);
      assert.equal(r.rc, 1);
      assert.equal(r.outcome, 'deleted', `job ${r.id} was deleted by delete_messages`);
    }
    assert.equal(new Set(receives.map((r) => r.id)).size, BATCH_JOBS, 'no job went to two workers');
    for (const w of ws) assert.deepEqual(errorLines(w), [], `${w.name} had errors`);
    const sizes = ws.flatMap((w) => w.lines.list.filter((l) => l.text.startsWith('received '))
      .map((l) => Number(l.text.split(' ')[1])));
    assert.ok(Math.max(...sizes) > 1, `receive_messages never returned more than one job: ${sizes}`);
    assert.ok(Math.max(...sizes) <= 7, `receive_messages returned more than max: ${sizes}`);
    const attributes = await ok('attributes', 'batchq');
    assert.equal(attributes.msgs, 0, 'nothing is left');
    assert.equal(attributes.totalsent, BATCH_JOBS);
    assert.equal(attributes.totalrecv, BATCH_JOBS);

    // A batch is all or nothing: one job too large for the queue and none of them is stored.
    await ok('create', 'batchsmall');
    const failing = worker(['--produce', '20', '--queue', 'batchsmall', '--batch', '20', '--oversize-job', '13'],
      'batch-too-large');
    const { code } = await failing.exit;
    assert.equal(code, 1, `the producer of an oversized batch exited with ${code}`);
    assert.match(errorLines(failing).join('\n'), /^error message_too_large: /);
    const small = await ok('attributes', 'batchsmall');
    assert.equal(small.msgs, 0, 'no job of the refused batch was stored');
    assert.equal(small.totalsent, 0);
  });

  test('errors: unknown queue, bad timeouts, oversized jobs, a queue created twice', { timeout: 90000 }, async () => {
    const someId = '01JD3ZQ4X8K2M5N7P9R1S3T5V7';
    const shown = [];
    for (const args of [['send', 'no-such-queue', 'x'], ['receive', 'no-such-queue'], ['pop', 'no-such-queue'],
      ['attributes', 'no-such-queue'], ['delete', 'no-such-queue', someId],
      ['visibility', 'no-such-queue', someId, '--vt', '1s'], ['set', 'no-such-queue', '--vt', '1s'],
      ['drop', 'no-such-queue']]) {
      shown.push(await refused('unknown_queue', ...args));
    }

    await ok('create', 'errq', '--maxsize', '1024');
    shown.push(await refused('queue_exists', 'create', 'errq'));
    shown.push(await refused('queue_exists', 'create', 'errq', '--vt', '1s'));

    // Negative and absurd times: refused by the CLI or by the edge, both with bad_timeout.
    for (const args of [['create', 'badq', '--vt', '-1'], ['create', 'badq', '--vt', '13h'],
      ['create', 'badq', '--delay', '366d'], ['receive', 'errq', '--vt', '-250ms'],
      ['receive', 'errq', '--vt', '99999999999999999999'], ['receive', 'errq', '--vt', '12h1ms'],
      ['receive', 'errq', '--wait', '61s'], ['pop', 'errq', '--wait', '-1'],
      ['send', 'errq', 'x', '--delay', '400d'], ['send', 'errq', 'x', '--delay', '-5s'],
      ['visibility', 'errq', someId, '--vt', '13h'], ['set', 'errq', '--vt', '1000d']]) {
      shown.push(await refused('bad_timeout', ...args));
    }
    assert.ok(!(await ok('list')).queues.includes('badq'), 'a refused create made no queue');

    // Oversized: the queue's maxsize (1024 here, 65536 by default) is the largest job.
    shown.push(await refused('message_too_large', 'send', 'errq', 'x'.repeat(1025)));
    assert.ok((await ok('send', 'errq', 'y'.repeat(1024))).id);
    await ok('create', 'defaultq');
    shown.push(await refused('message_too_large', 'send', 'defaultq', 'z'.repeat(65537)));
    assert.ok((await ok('send', 'defaultq', 'z'.repeat(65536))).id);
    const a = await ok('attributes', 'errq');
    assert.equal(a.totalsent, 1, 'refused jobs are not counted as sent');

    // The SDK's calls reach the edge unchecked: the edge itself refuses them.
    const negative = worker(['--consume', '--queue', 'errq', '--vt-ms', '-5'], 'negative-vt');
    const unknown = worker(['--consume', '--queue', 'no-such-queue'], 'unknown-queue');
    const fromEdge = [];
    for (const [w, name] of [[negative, 'bad_timeout'], [unknown, 'unknown_queue']]) {
      const line = await w.lines.waitFor((l) => l.startsWith('error '), { timeout: 15000, what: `${w.name}: an error` });
      assert.match(line.text, new RegExp(`^error ${name}: `), line.text);
      fromEdge.push(line.text);
      await stopWorker(w);
    }

    // The queue still works after all of that.
    assert.equal((await ok('pop', 'errq')).message, 'y'.repeat(1024));
    console.log('# CLI errors, as printed:\n' + shown.map((s) => `#   ${s}`).join('\n'));
    console.log('# SDK errors from the edge:\n' + fromEdge.map((s) => `#   ${s}`).join('\n'));
  });
});
