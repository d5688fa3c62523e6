// WorkQueues: RSMQ's API on the edge's work queues (docs/protocol.md section 3, the wq.* ops).
// Each job goes to one worker; a received job is hidden for vt and comes again unless it is
// deleted; maxReceive / deadLetter move a job that keeps failing aside.
//
//   const rsmq = adashta.workQueues();                       // RSMQ's units: seconds
//   await rsmq.createQueue({ qname: 'jobs', vt: 30 });
//   await rsmq.sendMessage({ qname: 'jobs', message: 'resize 42' });
//   const job = await rsmq.receiveMessage({ qname: 'jobs', wait: 20 });   // {} when none
//   if (job.id) { ...; await rsmq.deleteMessage({ qname: 'jobs', id: job.id }); }
//
// Units: with units 's' (the default, as RSMQ) vt, delay and wait are seconds and the
// attributes' vt, delay, created and modified are seconds too; with units 'ms' everything is
// milliseconds, as the edge's store takes them. `fr` and `sent` of a job are ms since the
// epoch either way (as RSMQ's). Results are RSMQ's: createQueue, deleteQueue and
// changeMessageVisibility resolve 1, deleteMessage 1 or 0, sendMessage the id, listQueues
// the names. Every method also exists with RSMQ's Async suffix (createQueueAsync, ...).

import { AdashtaError } from './errors.js';

export class WorkQueues {
  constructor(node, { units = 's' } = {}) {
    if (units !== 's' && units !== 'ms') throw new AdashtaError('bad_option', `units must be 's' or 'ms', not ${units}`);
    this.node = node;
    this.scale = units === 's' ? 1000 : 1;
  }

  toMs(name, value) {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !(value >= 0)) throw new AdashtaError('bad_timeout', `${name}=${value} must be a number >= 0`);
    return Math.round(value * this.scale);
  }

  times(o, names) {
    const out = {};
    for (const name of names) {
      const ms = this.toMs(name, o[name]);
      if (ms !== undefined) out[name] = ms;
    }
    return out;
  }

  call(op, args, waitMs = 0) {
    if (args.qname !== undefined && typeof args.qname !== 'string') throw new AdashtaError('bad_queue', 'qname must be a string');
    return this.node.call(op, args, { timeoutMs: this.node.options.callTimeoutMs + waitMs });
  }

  attributes(a) {
    if (this.scale === 1) return a;
    const s = (v) => (typeof v === 'number' ? v / 1000 : v);
    return { ...a, vt: s(a.vt), delay: s(a.delay), created: Math.floor(s(a.created)), modified: Math.floor(s(a.modified)) };
  }

  /** { qname, vt, delay, maxsize (bytes, -1: none), maxReceive, deadLetter } -> 1 */
  async createQueue({ qname, maxsize, maxReceive, deadLetter, ...o } = {}) {
    await this.call('wq.create', { qname, ...this.times(o, ['vt', 'delay']), ...defined({ maxsize, maxReceive, deadLetter }) });
    return 1;
  }

  /** { qname } -> 1 */
  async deleteQueue({ qname } = {}) {
    await this.call('wq.drop', { qname });
    return 1;
  }

  /** -> [qname] */
  async listQueues() {
    return (await this.call('wq.list', {})).queues ?? [];
  }

  /** { qname } -> { vt, delay, maxsize, totalrecv, totalsent, created, modified, msgs, hiddenmsgs, maxReceive, deadLetter, totaldead } */
  async getQueueAttributes({ qname } = {}) {
    return this.attributes(await this.call('wq.attributes', { qname }));
  }

  /** { qname, vt?, delay?, maxsize?, maxReceive?, deadLetter? } -> the attributes after the change */
  async setQueueAttributes({ qname, maxsize, maxReceive, deadLetter, ...o } = {}) {
    return this.attributes(await this.call('wq.set', { qname, ...this.times(o, ['vt', 'delay']), ...defined({ maxsize, maxReceive, deadLetter }) }));
  }

  /** { qname, message (string), delay? } -> id */
  async sendMessage({ qname, message, delay } = {}) {
    if (typeof message !== 'string') throw new AdashtaError('bad_data', 'message must be a string (JSON.stringify objects, as with RSMQ)');
    return (await this.call('wq.send', { qname, message, ...this.times({ delay }, ['delay']) })).id;
  }

  /** { qname, messages: [string], delay? } -> [id], all stored or none */
  async sendMessageBatch({ qname, messages, delay } = {}) {
    if (!Array.isArray(messages) || messages.some((m) => typeof m !== 'string')) throw new AdashtaError('bad_data', 'messages must be an array of strings');
    return (await this.call('wq.sendBatch', { qname, messages, ...this.times({ delay }, ['delay']) })).ids;
  }

  /** { qname, vt?, wait? (long poll) } -> { id, message, rc, fr, sent } or {} when none came */
  async receiveMessage({ qname, ...o } = {}) {
    const t = this.times(o, ['vt', 'wait']);
    return this.call('wq.receive', { qname, ...t }, t.wait ?? 0);
  }

  /** { qname, max, vt?, wait? } -> [job] (empty when none came; waits only for the first) */
  async receiveMessageBatch({ qname, max, ...o } = {}) {
    const t = this.times(o, ['vt', 'wait']);
    return (await this.call('wq.receiveBatch', { qname, max, ...t }, t.wait ?? 0)).jobs ?? [];
  }

  /** { qname, wait? } -> a job (deleted as it is received) or {} */
  async popMessage({ qname, ...o } = {}) {
    const t = this.times(o, ['wait']);
    return this.call('wq.pop', { qname, ...t }, t.wait ?? 0);
  }

  /** { qname, id } -> 1, or 0 when it was not there */
  async deleteMessage({ qname, id } = {}) {
    return (await this.call('wq.delete', { qname, id })).deleted ? 1 : 0;
  }

  /** { qname, ids } -> [true | false] per id */
  async deleteMessageBatch({ qname, ids } = {}) {
    return (await this.call('wq.deleteBatch', { qname, ids })).deleted;
  }

  /** { qname, id, vt } -> 1 */
  async changeMessageVisibility({ qname, id, vt } = {}) {
    await this.call('wq.visibility', { qname, id, vt: this.toMs('vt', vt) });
    return 1;
  }
}

function defined(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

for (const name of Object.getOwnPropertyNames(WorkQueues.prototype)) {
  if (['constructor', 'toMs', 'times', 'call', 'attributes'].includes(name)) continue;
  WorkQueues.prototype[`${name}Async`] = WorkQueues.prototype[name];
}
