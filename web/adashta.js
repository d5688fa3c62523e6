/*
 * adashta.js — the Adashta Queue browser SDK. No build step, no dependencies.
 *
 *   <script src="/adashta.js"></script>
 *   const client = adashta.connect();
 *   client.consume('chat', (data, meta) => console.log(meta.queue, data));
 *   client.produce('chat', { text: 'hi' }).then(({ id }) => console.log('stored as', id));
 *   client.fetch('chat', { limit: 50 }).then(({ messages }) => show(messages));
 *
 * Speaks the browser protocol of docs/protocol.md (JSON text frames over WebSocket).
 * The connection runs in the background: requests made while disconnected wait in a
 * bounded buffer, subscriptions and unanswered requests are re-sent after every reconnect,
 * and the session id is kept (and stored in sessionStorage) so a reconnect or page reload
 * resumes the same session.
 *
 * This file is a classic script AND a valid ES module body: adashta.mjs imports it for its
 * side effect. So everything lives in one function, nothing touches top-level `this`, and
 * the API is published on globalThis.adashta.
 */
(function () {
  'use strict';

  // Loaded twice (a script tag plus the module): keep the first, so there is one API per page.
  if (globalThis.adashta && typeof globalThis.adashta.connect === 'function') return;

  const VERSION = '0.1.0';
  const BACKOFF_FIRST_MS = 250;
  const BACKOFF_MAX_MS = 10000;
  const WELCOME_TIMEOUT_MS = 10000; // the edge itself gives a client 10 s to say hello
  const IDLE_PING_MS = 25000;       // below common proxy idle timeouts (30-60 s)
  const PONG_TIMEOUT_MS = 10000;
  const KEEPALIVE_TICK_MS = 5000;
  const DEFAULT_MAX_FRAME = 1048576;
  const DEFAULT_MAX_BUFFERED = 1000;

  // document.currentScript is only set while a classic script first runs, so capture it now.
  const scriptSrc = typeof document !== 'undefined' && document.currentScript
    ? document.currentScript.src : undefined;

  // Storage keys held by live clients of this page: a second client to the same URL must
  // not resume (and so steal) the first one's session.
  const claimedStorageKeys = new Set();

  // proto/errors.json, filled in when the edge embeds this file (cmake/embed.cmake):
  // name -> [code, message, hint]. Empty when the file is loaded from the source tree.
  const CATALOGUE = /*ADASHTA_CATALOGUE*/{};

  /** An error answered by the edge or raised here; code and name from proto/errors.json. */
  class AdashtaError extends Error {
    constructor(fields) {
      super(fields.message || fields.name);
      this.name = fields.name;     // e.g. 'no_consumer'
      this.code = fields.code;     // e.g. 4104; 4700-4799 for errors the SDK raises itself
      this.hint = fields.hint;     // what to do about it
      this.detail = fields.detail; // extra context, when the edge sends some
    }
  }

  // An error of the catalogue's entry `name`, raised by the SDK: message says what happened
  // here, hint defaults to the catalogue's.
  function sdkError(name, message, hint) {
    const [code, text, advice] = CATALOGUE[name] || [0, name, undefined];
    return new AdashtaError({ code, name, message: message || text, hint: hint || advice });
  }

  /** Resolves `url` against `base` and turns http(s) into ws(s). */
  function socketUrl(url, base) {
    let resolved;
    try {
      resolved = new URL(url, base);
    } catch (err) {
      throw new TypeError(`adashta: cannot make a WebSocket URL of "${url}"; pass an absolute ws:// or wss:// url`);
    }
    if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
    if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
    return resolved.href;
  }

  // 22 random characters of [A-Za-z0-9_-] (132 bits), prefixed: an id the edge accepts.
  function messageId() {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
    const bytes = new Uint8Array(22);
    if (globalThis.crypto && globalThis.crypto.getRandomValues) globalThis.crypto.getRandomValues(bytes);
    else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    let id = 'c-';
    for (const b of bytes) id += alphabet[b & 63];
    return id;
  }

  function longerThan(text, maxBytes) {
    // Cheap bound first: a UTF-16 code unit never takes more than 3 bytes in UTF-8.
    if (text.length * 3 <= maxBytes) return false;
    return new TextEncoder().encode(text).length > maxBytes;
  }

  // A listener or handler that throws must not break the SDK; rethrow where devtools see it.
  function reportLater(err) {
    setTimeout(() => { throw err; });
  }

  // When to refresh a token that expires at expMs: 30 s before the end, or at 80 % of what
  // is left for a token that has less than 150 s to go.
  function refreshDelay(expMs, now) {
    const left = Math.max(0, expMs - now);
    return left > 150000 ? left - 30000 : left * 0.8;
  }

  // The `exp` of a JWT (ms since the epoch), or 0 when it cannot be read. Not a check: the
  // edge verifies the token; the client only needs to know when to ask for a new one.
  function tokenExpiry(token) {
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const payload = JSON.parse(atob(part + '='.repeat((4 - part.length % 4) % 4)));
      return typeof payload.exp === 'number' ? payload.exp * 1000 : 0;
    } catch (err) {
      return 0;
    }
  }

  /**
   * Opens a client. Options: url (default: /ws of the origin that served adashta.js),
   * token (a connection token, JWT) or getToken() (returns one, or a Promise of one: called
   * before the first connection, before the token expires, and after the edge refused it),
   * session (resume this id, with secret), protocols (WebSocket subprotocols),
   * persistSession (default true), maxBuffered (default 1000 requests waiting while
   * disconnected), WebSocket (an implementation, for use outside browsers).
   */
  function connect(options) {
    options = options || {};
    const base = scriptSrc || (typeof location !== 'undefined' ? location.href : undefined);
    const url = socketUrl(options.url || '/ws', base);
    const WebSocketImpl = options.WebSocket || globalThis.WebSocket;
    const maxBuffered = options.maxBuffered || DEFAULT_MAX_BUFFERED;
    const storageKey = 'adashta.session:' + url;
    const persist = options.persistSession !== false && !claimedStorageKeys.has(storageKey);
    if (persist) claimedStorageKeys.add(storageKey);

    let session = options.session || (persist ? loadSession() : undefined);
    // The resume secret the edge gave the session: without it the edge resumes nothing.
    let secret = options.secret || (persist && session ? loadSecret() : undefined);
    const getToken = typeof options.getToken === 'function' ? options.getToken : null;
    let token = typeof options.token === 'string' ? options.token : undefined;
    let tokenStale = !token;   // ask getToken() before the next hello
    let refreshTimer = null;
    let user;                  // the token's sub, from welcome
    let socket = null;         // the current WebSocket, null between attempts
    let connected = false;     // true between welcome and close
    let closedByUser = false;
    let attempt = 0;           // reconnect attempts since the last welcome
    let reconnectTimer = null;
    let welcomeTimer = null;
    let keepaliveTimer = null;
    let lastReceived = 0;      // ms timestamp of the last frame from the edge
    let pingSent = false;      // a ping is out and nothing has arrived since
    let maxFrame = DEFAULT_MAX_FRAME;
    let nextRef = 1;
    // ref -> { text, type, queue, sent, resolve, reject }. Map order is ref order, which is
    // the order to re-send in after a reconnect.
    const requests = new Map();
    const subscriptions = new Map(); // queue -> { handlers: Set, ready: Promise }
    // queue -> the last offset delivered: a resume asks for what came after it, and a
    // message at or below it (a duplicate after a reconnect) is dropped.
    const offsets = new Map(persist && session ? loadOffsets() : []);
    let offsetsSaveTimer = null; // a write of offsets to sessionStorage is on its way
    const listeners = { connect: new Set(), disconnect: new Set(), error: new Set(), gap: new Set(), token: new Set() };

    const client = {
      get session() { return session; },
      get user() { return user; },
      get connected() { return connected; },
      get url() { return url; },
      produce, consume, unconsume, fetch, on, off, close, refresh,
    };

    if (typeof WebSocketImpl !== 'function') throw new TypeError('adashta: no WebSocket implementation; pass options.WebSocket');
    openSocket();
    return client;

    // ---- public API ------------------------------------------------------------------

    /**
     * Sends `data` to one server node consuming `queue`; resolves with { id } once the edge
     * has stored it. options: { delay } (ms) or { deliverAt } (ms since the epoch), where
     * the queue lets clients schedule.
     */
    function produce(queue, data, options) {
      if (data === undefined) return Promise.reject(sdkError('bad_data', 'produce(queue, data): data is undefined', 'pass any JSON value'));
      // Our own id: a produce sent again after a reconnect is stored once, not twice.
      const frame = { type: 'produce', queue, data, id: messageId() };
      if (options && options.delay !== undefined) frame.delay = options.delay;
      if (options && options.deliverAt !== undefined) frame.deliverAt = options.deliverAt instanceof Date ? options.deliverAt.getTime() : options.deliverAt;
      return request(frame).then((ack) => ({ id: ack.id }));
    }

    /**
     * Reads what the edge keeps of `queue` (its retention), consumed or not: the messages
     * for everyone and those for this client. options: { from } (offset) or { since } (ms
     * since the epoch or a Date), { limit } (1-1000, default 100). Resolves with
     * { messages: [{ id, offset, data, ts }], next } — fetch { from: next } for more.
     */
    function fetch(queue, options) {
      options = options || {};
      const frame = { type: 'fetch', queue };
      if (options.from !== undefined) frame.from = options.from;
      if (options.since !== undefined) frame.since = options.since instanceof Date ? options.since.getTime() : options.since;
      if (options.limit !== undefined) frame.limit = options.limit;
      return request(frame).then((answer) => ({ messages: answer.messages, next: answer.next }));
    }

    /** Calls handler(data, { id, queue, ts }) for each message on `queue`; resolves on ack. */
    function consume(queue, handler) {
      if (typeof handler !== 'function') throw new TypeError('adashta: consume(queue, handler) needs a handler function');
      let sub = subscriptions.get(queue);
      if (sub) {
        sub.handlers.add(handler);
        return sub.ready;
      }
      sub = { handlers: new Set([handler]), ready: null };
      subscriptions.set(queue, sub);
      sub.ready = subscribe(queue, sub);
      return sub.ready;
    }

    /** Removes one handler, or all of them; the edge is told once no handler is left. */
    function unconsume(queue, handler) {
      const sub = subscriptions.get(queue);
      if (!sub) return Promise.resolve();
      if (handler) {
        sub.handlers.delete(handler);
        if (sub.handlers.size > 0) return Promise.resolve();
      }
      subscriptions.delete(queue);
      return request({ type: 'unconsume', queue }).then(() => undefined);
    }

    function on(event, fn) {
      listenersOf(event).add(fn);
      return client;
    }

    function off(event, fn) {
      if (fn) listenersOf(event).delete(fn); else listenersOf(event).clear();
      return client;
    }

    /**
     * Replaces the connection's token without reconnecting: with `newToken`, or with what
     * getToken() returns. Resolves when the edge took it. Called by itself before expiry.
     */
    function refresh(newToken) {
      clearTimeout(refreshTimer);
      refreshTimer = null;
      const next = newToken !== undefined ? Promise.resolve(newToken)
        : getToken ? Promise.resolve().then(() => getToken()) : Promise.resolve(token);
      return next.then((value) => {
        if (typeof value !== 'string' || !value) {
          throw sdkError('token_invalid', 'getToken() gave no token', 'return the JWT as a string');
        }
        token = value;
        tokenStale = false;
        if (!connected) return undefined; // the next hello carries it
        return request({ type: 'refresh', token: value }).then(() => {
          scheduleRefresh();
          emit('token', { refreshed: true });
        });
      });
    }

    function scheduleRefresh() {
      clearTimeout(refreshTimer);
      refreshTimer = null;
      const exp = token ? tokenExpiry(token) : 0;
      if (!exp || closedByUser) return;
      refreshTimer = setTimeout(() => {
        if (!getToken) return; // a fixed token cannot be renewed: the edge closes at exp
        refresh().catch((err) => emit('error', err));
      }, refreshDelay(exp, Date.now()));
    }

    /** Closes for good: code 1000, no reconnect, waiting requests are rejected. */
    function close() {
      if (closedByUser) return;
      closedByUser = true;
      clearTimeout(refreshTimer);
      clearTimeout(reconnectTimer);
      clearTimeout(welcomeTimer);
      stopKeepalive();
      if (persist) claimedStorageKeys.delete(storageKey);
      const ws = socket;
      socket = null; // the close event of `ws` is now ignored
      if (ws) ws.close(1000, 'client closed');
      const wasConnected = connected;
      connected = false;
      for (const req of requests.values()) req.reject(sdkError('closed', 'the client was closed before the edge answered'));
      requests.clear();
      if (wasConnected) emit('disconnect', { code: 1000, reason: 'client closed' });
    }

    // ---- requests ----------------------------------------------------------------------

    function request(frame) {
      if (closedByUser) return Promise.reject(sdkError('closed', 'the client is closed', 'call adashta.connect() again'));
      if (!connected && countUnsent() >= maxBuffered) {
        return Promise.reject(sdkError('buffer_full', `${maxBuffered} requests already wait for the connection`,
          'wait for the connect event, or raise options.maxBuffered'));
      }
      return new Promise((resolve, reject) => {
        const ref = nextRef++;
        let text;
        try {
          text = JSON.stringify(Object.assign({ type: frame.type, ref }, frame));
        } catch (err) {
          reject(sdkError('bad_data', 'data cannot be written as JSON: ' + err.message, 'pass plain JSON values'));
          return;
        }
        const req = { text, type: frame.type, queue: frame.queue, sent: false, resolve, reject };
        requests.set(ref, req);
        if (connected) send(ref, req);
      });
    }

    function send(ref, req) {
      // The edge closes the connection on an oversized frame; re-sending it after every
      // reconnect would loop forever, so refuse it here instead.
      if (longerThan(req.text, maxFrame)) {
        requests.delete(ref);
        req.reject(sdkError('frame_too_large', `the frame is larger than the edge accepts (${maxFrame} bytes)`,
          'split the data or raise the edge\'s --max-frame'));
        return;
      }
      socket.send(req.text);
      req.sent = true;
    }

    function countUnsent() {
      let n = 0;
      for (const req of requests.values()) if (!req.sent) n++;
      return n;
    }

    function subscribe(queue, sub) {
      // After a reconnect (or a reload), ask for what came after the last message seen.
      const frame = { type: 'consume', queue };
      if (offsets.has(queue)) frame.from = offsets.get(queue) + 1;
      return request(frame).then((ack) => {
        // A first consume: from now on, a resume asks for what came after this point.
        if (!offsets.has(queue) && typeof ack.next === 'number' && ack.next > 0) {
          offsets.set(queue, ack.next - 1);
          saveOffsets();
        }
      }, (err) => {
        if (subscriptions.get(queue) === sub) subscriptions.delete(queue); // never re-send a refused consume
        throw err;
      });
    }

    // After a welcome: subscriptions first, so replies to the re-sent produces find them.
    function resubscribe() {
      for (const [queue, sub] of subscriptions) {
        if (hasWaitingRequestFor(queue)) continue; // an unsent consume/unconsume already says it
        sub.ready = subscribe(queue, sub);
        sub.ready.catch((err) => emit('error', err));
      }
    }

    function hasWaitingRequestFor(queue) {
      for (const req of requests.values()) {
        if (!req.sent && req.queue === queue && (req.type === 'consume' || req.type === 'unconsume')) return true;
      }
      return false;
    }

    function flush() {
      for (const [ref, req] of requests) if (!req.sent) send(ref, req);
    }

    function settle(ref, err, frame) {
      const req = requests.get(ref);
      if (!req) return; // e.g. a pong, or an answer to a frame sent on an earlier connection
      requests.delete(ref);
      if (err) req.reject(err); else req.resolve(frame);
    }

    // ---- the socket ------------------------------------------------------------------

    function openSocket() {
      reconnectTimer = null;
      if (getToken && tokenStale) {
        // Ask for a token first; the hello needs it. A failing getToken() is retried with
        // the same backoff as a failing connection.
        let asked;
        try { asked = Promise.resolve(getToken()); } catch (err) { asked = Promise.reject(err); }
        asked.then((value) => {
          if (closedByUser) return;
          if (typeof value !== 'string' || !value) throw new Error('getToken() gave no token');
          token = value;
          tokenStale = false;
          openSocket();
        }).catch((err) => {
          if (closedByUser) return;
          emit('error', sdkError('token_unavailable', 'getToken() failed: ' + (err && err.message), 'make getToken() return a JWT'));
          scheduleReconnect();
        });
        return;
      }
      let ws;
      try {
        ws = options.protocols ? new WebSocketImpl(url, options.protocols) : new WebSocketImpl(url);
      } catch (err) {
        emit('error', sdkError('socket_failed', 'cannot open a WebSocket to ' + url + ': ' + err.message));
        scheduleReconnect();
        return;
      }
      socket = ws;
      ws.onopen = () => {
        const hello = { type: 'hello' };
        if (session) { hello.session = session; if (secret) hello.secret = secret; }
        if (token) hello.token = token;
        ws.send(JSON.stringify(hello));
      };
      ws.onmessage = (event) => { if (ws === socket) onFrame(event.data); };
      ws.onclose = (event) => onSocketClosed(ws, event.code, event.reason);
      ws.onerror = () => {}; // a close event always follows; it is handled there
      welcomeTimer = setTimeout(() => dropSocket(ws, 'no welcome from the edge'), WELCOME_TIMEOUT_MS);
    }

    // For a connection that is dead without the browser noticing: stop waiting for its close.
    function dropSocket(ws, reason) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch (err) { /* already closing */ }
      onSocketClosed(ws, 1006, reason);
    }

    function onSocketClosed(ws, code, reason) {
      if (ws !== socket) return;
      socket = null;
      clearTimeout(welcomeTimer);
      stopKeepalive();
      for (const req of requests.values()) req.sent = false; // unanswered: send again after welcome
      const wasConnected = connected;
      connected = false;
      if (wasConnected) emit('disconnect', { code, reason });
      if (closedByUser) return;
      clearTimeout(refreshTimer);
      // 4005: the edge refuses our id. 4011: another connection took this session over (a
      // duplicated tab shares sessionStorage); taking it back would make the two fight.
      if (code === 4005 || code === 4011) forgetSession();
      // 4012-4014: no token, a token the edge refuses, or one that expired: ask for a new
      // one. Without getToken() nothing would change on a retry: stop, and say why.
      if (code === 4012 || code === 4013 || code === 4014) {
        tokenStale = true;
        if (!getToken) {
          emit('error', sdkError(code === 4014 ? 'token_expired' : code === 4012 ? 'token_required' : 'token_invalid',
            'the edge closed the connection: ' + reason, 'pass getToken() to adashta.connect() so the client can get a new token'));
          return;
        }
      }
      scheduleReconnect();
    }

    function scheduleReconnect() {
      if (closedByUser || reconnectTimer) return;
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 16));
      attempt++;
      // ±50 % jitter, so clients dropped together by a restart do not come back together.
      reconnectTimer = setTimeout(openSocket, base * (0.5 + Math.random()));
    }

    function onFrame(text) {
      lastReceived = Date.now();
      pingSent = false;
      let frame;
      try {
        frame = JSON.parse(text);
      } catch (err) {
        frame = null;
      }
      if (!frame || typeof frame !== 'object') {
        emit('error', sdkError('bad_json', 'the edge sent a frame that is not a JSON object'));
        return;
      }
      switch (frame.type) {
        case 'welcome': return onWelcome(frame);
        case 'ack': return settle(frame.ref, null, frame);
        case 'error': return onError(frame);
        case 'message': return deliver(frame);
        case 'gap': return onGap(frame);
        case 'messages': return settle(frame.ref, null, frame);
        default: return; // pong, or a type from a newer edge: nothing to do
      }
    }

    function onWelcome(frame) {
      clearTimeout(welcomeTimer);
      session = frame.session;
      if (typeof frame.secret === 'string') secret = frame.secret;
      user = frame.user;
      saveSession();
      if (typeof frame.maxFrame === 'number') maxFrame = frame.maxFrame;
      connected = true;
      attempt = 0;
      startKeepalive();
      resubscribe();
      flush();
      scheduleRefresh();
      emit('connect', { session, resumed: frame.resumed === true, user });
    }

    function onError(frame) {
      const err = new AdashtaError(frame);
      if (typeof frame.ref === 'number' && requests.has(frame.ref)) settle(frame.ref, err);
      else emit('error', err);
    }

    // Retention dropped messages [from, to] before this client could get them.
    function onGap(frame) {
      offsets.set(frame.queue, Math.max(offsets.get(frame.queue) || 0, frame.to));
      saveOffsets();
      emit('gap', { queue: frame.queue, from: frame.from, to: frame.to });
    }

    function deliver(frame) {
      if (typeof frame.offset === 'number') {
        const last = offsets.get(frame.queue) || 0;
        if (frame.offset <= last) return; // seen already (a resume overlapping live delivery)
        offsets.set(frame.queue, frame.offset);
        saveOffsets();
      }
      const sub = subscriptions.get(frame.queue);
      if (!sub) return; // a message that was in flight when we unsubscribed
      const meta = { id: frame.id, queue: frame.queue, ts: frame.ts, offset: frame.offset };
      for (const handler of Array.from(sub.handlers)) {
        try { handler(frame.data, meta); } catch (err) { reportLater(err); }
      }
    }

    // ---- keepalive: ping when idle, give up on a connection that stopped answering -----

    function startKeepalive() {
      lastReceived = Date.now();
      pingSent = false;
      keepaliveTimer = setInterval(checkAlive, KEEPALIVE_TICK_MS);
    }

    function stopKeepalive() {
      clearInterval(keepaliveTimer);
      keepaliveTimer = null;
    }

    function checkAlive() {
      const idle = Date.now() - lastReceived;
      if (idle >= IDLE_PING_MS + PONG_TIMEOUT_MS) {
        dropSocket(socket, 'the edge stopped answering');
      } else if (idle >= IDLE_PING_MS && !pingSent) {
        socket.send(JSON.stringify({ type: 'ping', ref: nextRef++ }));
        pingSent = true;
      }
    }

    // ---- events and session storage ---------------------------------------------------

    function listenersOf(event) {
      const set = listeners[event];
      if (!set) throw new TypeError(`adashta: unknown event "${event}"; events are connect, disconnect, error, gap, token`);
      return set;
    }

    function emit(event, arg) {
      const set = listeners[event];
      if (event === 'error' && set.size === 0 && typeof console !== 'undefined') console.warn('adashta:', arg);
      for (const fn of Array.from(set)) {
        try { fn(arg); } catch (err) { reportLater(err); }
      }
    }

    // sessionStorage may be missing (outside browsers) or throw (sandboxed frames, privacy modes).
    function loadSession() {
      try { return globalThis.sessionStorage.getItem(storageKey) || undefined; } catch (err) { return undefined; }
    }

    function saveSession() {
      if (!persist) return;
      try {
        globalThis.sessionStorage.setItem(storageKey, session);
        if (secret) globalThis.sessionStorage.setItem(storageKey + ':secret', secret);
      } catch (err) { /* not persisted */ }
    }

    function loadSecret() {
      try { return globalThis.sessionStorage.getItem(storageKey + ':secret') || undefined; } catch (err) { return undefined; }
    }

    // Offsets are kept with the session, for a reload to resume where the page was.
    function loadOffsets() {
      try { return JSON.parse(globalThis.sessionStorage.getItem(storageKey + ':offsets') || '[]'); } catch (err) { return []; }
    }

    function saveOffsets() {
      if (!persist || offsetsSaveTimer) return;
      offsetsSaveTimer = setTimeout(() => { // at most a few writes a second, however busy
        offsetsSaveTimer = null;
        try { globalThis.sessionStorage.setItem(storageKey + ':offsets', JSON.stringify([...offsets])); } catch (err) { /* not persisted */ }
      }, 200);
    }

    function forgetSession() {
      session = undefined;
      secret = undefined;
      offsets.clear();
      if (!persist) return;
      try {
        globalThis.sessionStorage.removeItem(storageKey);
        globalThis.sessionStorage.removeItem(storageKey + ':secret');
        globalThis.sessionStorage.removeItem(storageKey + ':offsets');
      } catch (err) { /* nothing stored */ }
    }
  }

  // name -> code, e.g. adashta.errors.no_consumer === 4104, to compare with err.code.
  const errors = Object.freeze(Object.fromEntries(
    Object.entries(CATALOGUE).map(([name, [code]]) => [name, code])));

  globalThis.adashta = Object.freeze({ version: VERSION, connect, socketUrl, AdashtaError, errors });
})();
