// One plugin's calls that are not answered yet, oldest first, as the runs they came in: a
// 'B' frame's calls (or a 'C' frame's one), their bytes kept as they arrived, never read
// here but for each call's hook. The host's main thread (main.mjs) counts calls by their
// place from the head: k = 0 is the oldest unanswered call.
//
// A run: { first: the id of its first call (the ids are consecutive), count, bytes: a Buffer
// of the calls, each [u8 hook][u32 length][subject][u32 length][data][u32 length][context],
// offsets: where each call starts (count + 1 of them, the last the end), done: how many of
// it are answered }.
import { Fifo } from './fifo.mjs';

// The offsets of a run's calls in bytes (count calls from 0); throws if they run past it.
function callOffsets(bytes, count) {
  const offsets = new Int32Array(count + 1);
  let at = 0;
  for (let i = 0; i < count; i++) {
    offsets[i] = at;
    at += 1;
    for (let t = 0; t < 3; t++) {
      if (at + 4 > bytes.length) throw new Error('a call batch shorter than its calls: the stream is out of step');
      at += 4 + bytes.readUInt32LE(at);
    }
  }
  if (at > bytes.length) throw new Error('a call batch shorter than its calls: the stream is out of step');
  offsets[count] = at;
  return offsets;
}

export class CallRuns {
  #runs = new Fifo();
  #length = 0;
  #failed = new Map(); // id → [failure, text]: its worker died on it, answered at the head

  get length() {
    return this.#length;
  }

  // A 'B' frame's calls: first id, count, and their bytes.
  push(first, count, bytes) {
    if (count === 0) return;
    this.#runs.push({ first, count, bytes, offsets: callOffsets(bytes, count), done: 0 });
    this.#length += count;
  }

  // The run holding the call k from the head, and the call's index in it.
  #find(k) {
    for (let r = 0; ; r++) {
      const run = this.#runs.at(r);
      const left = run.count - run.done;
      if (k < left) return [run, run.done + k];
      k -= left;
    }
  }

  idAt(k) {
    const [run, i] = this.#find(k);
    return run.first + i;
  }

  hookAt(k) {
    const [run, i] = this.#find(k);
    return run.bytes[run.offsets[i]];
  }

  failedAt(k) {
    return this.#failed.size ? this.#failed.get(this.idAt(k)) : undefined;
  }

  setFailed(k, why) {
    this.#failed.set(this.idAt(k), why);
  }

  // Drops the head call; its id and why it failed (undefined when it did not).
  shift() {
    const run = this.#runs.at(0);
    const id = run.first + run.done;
    if (++run.done === run.count) this.#runs.shift();
    this.#length--;
    const failed = this.#failed.size ? this.#failed.get(id) : undefined;
    if (failed) this.#failed.delete(id);
    return { id, failed };
  }

  // Drops the n calls at the head, answered with the ids it gives (in order): false if those
  // are not the ids at the head.
  shiftAnswered(ids) {
    for (const id of ids) {
      if (this.#length === 0) return false;
      const run = this.#runs.at(0);
      if (run.first + run.done !== id) return false;
      if (++run.done === run.count) this.#runs.shift();
      this.#length--;
    }
    return true;
  }

  // Calls from k on, at most max of them, from one run and none that failed, as a batch for a
  // worker (frames.mjs readCallBatch): a Buffer of its own, [u32 first id][u32 count][calls].
  batchFrom(k, max) {
    const [run, start] = this.#find(k);
    let end = Math.min(run.count, start + max);
    if (this.#failed.size) {
      for (let i = start; i < end; i++) {
        if (this.#failed.has(run.first + i)) {
          end = i;
          break;
        }
      }
    }
    if (end === start) return null;
    const from = run.offsets[start];
    const to = run.offsets[end];
    const batch = Buffer.allocUnsafeSlow(8 + to - from);
    batch.writeUInt32LE(run.first + start, 0);
    batch.writeUInt32LE(end - start, 4);
    run.bytes.copy(batch, 8, from, to);
    return { batch, count: end - start };
  }

  // Every call's id, oldest first; the queue is empty after.
  clear() {
    const ids = [];
    while (this.#length) ids.push(this.shift().id);
    this.#failed.clear();
    return ids;
  }
}
