// The frames between the edge (plugins/src/js_host.cpp) and this host, on stdin and stdout.
// Every frame is [u32 little-endian length of what follows][u8 type][body]. Message texts
// travel as raw UTF-8 JSON, never parsed here: only the plugin's worker reads them.
//
//   edge → host   'L' load    JSON {p, folder, entry, name, version, callMs, memoryMB, http,
//                             hooks, config, produce, store, services, state}: produce and
//                             store the permissions, services false when the edge offers
//                             none, state {key: JSON text} the plugin's saved state
//                 'U' unload  JSON {p}
//                 'C' call    u32 id, u32 plugin, u8 hook, then subject, data, context, each
//                             u32 length + bytes (data "" when the message has none)
//                 'B' calls   u32 plugin, u32 first id, u32 count, then count calls, each
//                             u8 hook and the three texts as in 'C' (ids first, first + 1, ...)
//                 'p' produced JSON {p, r, error?: {code, text}}: the answer to 'P' r
//   host → edge   'R' ready   JSON {node}
//                 'l' loaded  JSON {p, error?}
//                 'A' answer  u32 id, u8 kind, i32 code, u32 length + text (see Kind)
//                 'G' log     JSON {p, level, text}
//                 'P' produce u32 length + JSON {p, r, queue, to?, user?, toServer?,
//                             session?, delayMs?}, then the data (JSON text) to the end
//                 'S' state   JSON {p, k, v?}: key k now holds the JSON text v (no v: deleted)
//
// A plugin's 'S' and 'P' frames come before the answer of the call that made them.
//
// The order of hook numbers is the edge's enum Hook (manifest.hpp).
export const hookNames = ['on_connect', 'on_disconnect', 'on_message', 'on_deliver', 'on_produce', 'on_http'];

// An answer's kind: text is the data (passChanged), the reason (drop, reject) or what went
// wrong (failed, with code a Failure: 1 error, 2 time, 3 memory); code is reject's close code.
export const Kind = { pass: 0, passChanged: 1, drop: 2, reject: 3, failed: 4 };
export const Failure = { error: 1, time: 2, memory: 3 };

// The largest frame accepted: bigger means the stream is out of step.
export const maxFrameBytes = 256 * 1024 * 1024;

function checkedLength(length) {
  if (length < 1 || length > maxFrameBytes) throw new Error(`a frame of ${length} bytes: the stream is out of step`);
  return length;
}

// Splits a byte stream into frames: push(chunk) calls onFrame(type, body) for each whole one.
// A frame split over chunks is joined once, when its last byte came (a big frame of many
// chunks is copied once, not once a chunk).
export class FrameReader {
  #pending = [];
  #pendingBytes = 0;
  #needed = 0; // the bytes the first pending frame needs in all (0: its length not read yet)
  constructor(onFrame) {
    this.onFrame = onFrame;
  }
  push(chunk) {
    let buf = chunk;
    if (this.#pendingBytes > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#needed === 0 && this.#pendingBytes >= 4) {
        const head = this.#pending[0].length >= 4 ? this.#pending[0] : Buffer.concat(this.#pending);
        this.#needed = 4 + checkedLength(head.readUInt32LE(0));
      }
      if (this.#needed === 0 || this.#pendingBytes < this.#needed) return;
      buf = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#needed = 0;
    }
    let at = 0;
    while (buf.length - at >= 4) {
      const length = checkedLength(buf.readUInt32LE(at));
      if (buf.length - at - 4 < length) break;
      this.onFrame(buf[at + 4], buf.subarray(at + 5, at + 4 + length));
      at += 4 + length;
    }
    if (at < buf.length) {
      const rest = buf.subarray(at);
      this.#pending.push(rest);
      this.#pendingBytes = rest.length;
      if (rest.length >= 4) this.#needed = 4 + checkedLength(rest.readUInt32LE(0));
    }
  }
}

// Gathers outgoing frames and writes them in one write per turn of the event loop, so a
// burst of answers costs one system call rather than one each.
export class FrameWriter {
  #chunks = [];
  #scheduled = false;
  constructor(stream) {
    this.stream = stream;
  }
  json(type, value) {
    this.#push(type, Buffer.from(JSON.stringify(value)));
  }
  raw(frame) {
    this.#queue(frame);
  }
  answer(id, kind, code, text) {
    const textBytes = text ? Buffer.byteLength(text) : 0;
    const frame = Buffer.allocUnsafe(18 + textBytes);
    writeAnswer(frame, 0, id, kind, code, text, textBytes);
    this.#queue(frame);
  }
  // Whole frames, written as they are (a worker's answerFrames).
  frames(buf) {
    this.#queue(buf);
  }
  #push(type, body) {
    const head = Buffer.allocUnsafe(5);
    head.writeUInt32LE(body.length + 1, 0);
    head[4] = type.charCodeAt(0);
    this.#queue(head);
    this.#queue(body);
  }
  #queue(buf) {
    this.#chunks.push(buf);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }
  flush() {
    this.#scheduled = false;
    if (this.#chunks.length === 0) return;
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.stream.write(all);
  }
}

// The main thread does not read a call's texts: it keeps the calls as the runs they came in
// (call_runs.mjs) and hands the plugin's worker many at a time as one byte batch,
// [u32 first id][u32 count] then each call as in a 'B' frame, which the worker reads back
// (readCallBatch). Its answers go back as answer frames ready to write, many in one buffer
// (answerFrames), which the main thread checks (the ids, in order) and writes out as they are.

// A call batch (a Uint8Array, as a worker receives it) as calls {id, hook, subject, data,
// context}, read in place.
export function readCallBatch(bytes) {
  const batch = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = batch.readUInt32LE(0);
  const count = batch.readUInt32LE(4);
  const calls = new Array(count);
  let at = 8;
  for (let i = 0; i < count; i++) {
    const hook = batch[at];
    let n = batch.readUInt32LE(at + 1);
    at += 5;
    const subject = batch.utf8Slice(at, at + n);
    at += n;
    n = batch.readUInt32LE(at);
    const data = batch.utf8Slice(at + 4, at + 4 + n);
    at += 4 + n;
    n = batch.readUInt32LE(at);
    const context = batch.utf8Slice(at + 4, at + 4 + n);
    at += 4 + n;
    calls[i] = { id: first + i, hook, subject, data, context };
  }
  return calls;
}

// Answers [id, kind, code, text] as 'A' frames in one Buffer of its own.
export function answerFrames(answers) {
  let size = 0;
  const lengths = new Array(answers.length);
  for (let i = 0; i < answers.length; i++) {
    const text = answers[i][3];
    lengths[i] = text ? Buffer.byteLength(text) : 0;
    size += 18 + lengths[i];
  }
  const frames = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (let i = 0; i < answers.length; i++) {
    const [id, kind, code, text] = answers[i];
    writeAnswer(frames, at, id, kind, code, text, lengths[i]);
    at += 18 + lengths[i];
  }
  return frames;
}

function writeAnswer(frame, at, id, kind, code, text, textBytes) {
  frame.writeUInt32LE(14 + textBytes, at);
  frame[at + 4] = 0x41; // 'A'
  frame.writeUInt32LE(id, at + 5);
  frame[at + 9] = kind;
  frame.writeInt32LE(code, at + 10);
  frame.writeUInt32LE(textBytes, at + 14);
  if (textBytes) frame.write(text, at + 18);
}

// The ids of the answer frames in a buffer from answerFrames, in order.
export function answerIds(frames) {
  const ids = [];
  for (let at = 0; at + 18 <= frames.length; at += 4 + frames.readUInt32LE(at)) ids.push(frames.readUInt32LE(at + 5));
  return ids;
}

// Writes a call frame (the testing harness speaks to a host as the edge does).
export function callFrame(id, plugin, hook, subject, data, context) {
  const parts = [subject, data, context].map((s) => Buffer.from(s ?? ''));
  const size = 1 + 9 + parts.reduce((n, p) => n + 4 + p.length, 0);
  const frame = Buffer.allocUnsafe(4 + size);
  frame.writeUInt32LE(size, 0);
  frame[4] = 0x43; // 'C'
  frame.writeUInt32LE(id, 5);
  frame.writeUInt32LE(plugin, 9);
  frame[13] = hook;
  let at = 14;
  for (const p of parts) {
    frame.writeUInt32LE(p.length, at);
    p.copy(frame, at + 4);
    at += 4 + p.length;
  }
  return frame;
}

export function jsonFrame(type, value) {
  const body = Buffer.from(JSON.stringify(value));
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame.writeUInt32LE(body.length + 1, 0);
  frame[4] = type.charCodeAt(0);
  body.copy(frame, 5);
  return frame;
}

// A produce frame: its head as JSON, then the data's text as it is.
export function produceFrame(head, data) {
  const headBytes = Buffer.from(JSON.stringify(head));
  const dataBytes = Buffer.from(data);
  const frame = Buffer.allocUnsafe(4 + 1 + 4 + headBytes.length + dataBytes.length);
  frame.writeUInt32LE(frame.length - 4, 0);
  frame[4] = 0x50; // 'P'
  frame.writeUInt32LE(headBytes.length, 5);
  headBytes.copy(frame, 9);
  dataBytes.copy(frame, 9 + headBytes.length);
  return frame;
}

// Reads a produce frame's body: {head, data}.
export function readProduce(body) {
  const n = body.readUInt32LE(0);
  return { head: JSON.parse(body.toString('utf8', 4, 4 + n)), data: body.toString('utf8', 4 + n) };
}

// Reads an answer frame's body: {id, kind, code, text}.
export function readAnswer(body) {
  const n = body.readUInt32LE(9);
  return { id: body.readUInt32LE(0), kind: body[4], code: body.readInt32LE(5), text: body.toString('utf8', 13, 13 + n) };
}
