// What tests/e2e/durable.test.mjs calls through page.evaluate: one client, everything it
// heard. Served by the edge from the test app folder at /durable.js.
window.durable = {
  client: null,
  connects: [],    // 'connect' events: { session, resumed, at }
  disconnects: [], // 'disconnect' events: { code, reason, at }
  errors: [],      // 'error' events: { name, message }
  gaps: [],        // 'gap' events: { queue, from, to, at }
  received: {},    // queue -> [{ data, meta, at }], in the order the handler was called

  start(options) {
    this.client = adashta.connect(options);
    this.client.on('connect', (e) => this.connects.push({ ...e, at: Date.now() }));
    this.client.on('disconnect', (e) => this.disconnects.push({ ...e, at: Date.now() }));
    this.client.on('error', (err) => this.errors.push({ name: err.name, message: err.message }));
    this.client.on('gap', (e) => this.gaps.push({ ...e, at: Date.now() }));
  },

  consume(queue) {
    this.received[queue] ??= [];
    return this.client.consume(queue, (data, meta) => this.received[queue].push({ data, meta, at: Date.now() }));
  },

  // A fetch's answer, or its error as { error: name } so page.evaluate can return it.
  async fetch(queue, options) {
    try {
      return await this.client.fetch(queue, options);
    } catch (err) {
      return { error: err.name, message: err.message };
    }
  },
};
