// What the browser tests call through page.evaluate: one client per page, and what it got.
// The edge serves it from the test app folder (see browser.test.mjs) at /helpers.js.
window.e2e = {
  client: null,
  connects: [],    // the 'connect' events: { session, resumed }
  disconnects: [], // the 'disconnect' events: { code, reason }
  errors: [],      // the 'error' events, as { name, message }
  received: {},    // queue -> [{ data, meta }]

  start(connect, options) {
    this.client = connect(options);
    this.client.on('connect', (event) => this.connects.push(event));
    this.client.on('disconnect', (event) => this.disconnects.push(event));
    this.client.on('error', (err) => this.errors.push({ name: err.name, message: err.message }));
    return this.client.session;
  },

  async consume(queue) {
    this.received[queue] ??= [];
    await this.client.consume(queue, (data, meta) => this.received[queue].push({ data, meta }));
  },

  // The edge may answer no_consumer while a node has joined but not yet said what it
  // consumes; retry that (polling, bounded), and fail on anything else.
  async produceUntilConsumed(queue, data, timeout = 10000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      try {
        return await this.client.produce(queue, data);
      } catch (err) {
        if (err.name !== 'no_consumer' || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  },
};
