// Consumer: runs one queue's handler over the messages that come for it, up to
// `concurrency` at a time, the messages of one client strictly one after another (in the
// order they came), and acks each when its handler resolves.
//
// Ownership: the event loop. `byClient` holds each client's waiting messages (the first is
// the one running or next), `ready` the clients whose first message may start now, in the
// order they became ready; `running` counts handlers in flight.

export class Consumer {
  constructor(queue, handler, concurrency, node) {
    this.queue = queue;
    this.handler = handler;
    this.concurrency = concurrency;
    this.node = node;         // ack(message), reportHandlerError(err, message)
    this.byClient = new Map(); // client -> [message]
    this.ready = [];           // clients
    this.running = 0;
    this.stopped = false;
  }

  push(message) {
    if (this.stopped) return;
    const key = message.client || message.id; // a fan-out has no client: nothing to order by
    let waiting = this.byClient.get(key);
    if (!waiting) {
      waiting = [];
      this.byClient.set(key, waiting);
    }
    waiting.push(message);
    if (waiting.length === 1) this.ready.push(key);
    this.pump();
  }

  /** Starts nothing more; what has not started comes again (unacked) elsewhere or later. */
  stop() {
    this.stopped = true;
    this.byClient.clear();
    this.ready = [];
  }

  pump() {
    while (!this.stopped && this.running < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift();
      const waiting = this.byClient.get(key);
      this.running++;
      this.run(waiting[0]).finally(() => {
        this.running--;
        waiting.shift();
        if (this.stopped) return;
        if (waiting.length > 0) this.ready.push(key);
        else this.byClient.delete(key);
        this.pump();
      });
    }
  }

  async run(message) {
    let held = null;
    const msg = {
      ...message,
      /**
       * Keeps the message for a later decision: the handler's return no longer acks it.
       * Returns { ack(), release() }: ack tells the edge it was handled; release gives it up
       * (it comes again after the visibility timeout).
       */
      defer: () => {
        held ??= {
          ack: () => this.node.ack(message),
          release: () => {},
        };
        return held;
      },
    };
    delete msg.edge;
    try {
      await this.handler(msg); // a synchronous throw lands here too
    } catch (err) {
      this.node.reportHandlerError(err, message);
      return;
    }
    if (!held) this.node.ack(message);
  }
}
