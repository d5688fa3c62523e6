// TypeScript declarations for the browser SDK (web/adashta.js, served by the edge at
// /adashta.js and /adashta.mjs; these at /adashta.d.ts). Error codes and names are the
// catalogue's, proto/errors.json.
//
//   import adashta from '/adashta.mjs';
//   const client = adashta.connect({ getToken: () => fetch('/token').then((r) => r.text()) });
//   await client.consume('chat', (data, meta) => console.log(meta.id, data));
//   await client.produce('chat', { text: 'hi' });

/** Any value JSON can carry. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The entries of proto/errors.json, by name. */
export type ErrorName =
  | 'bad_json' | 'bad_frame' | 'unknown_type' | 'hello_required' | 'bad_queue' | 'bad_session'
  | 'bad_timeout' | 'message_too_large' | 'hello_timeout' | 'frame_too_large'
  | 'binary_unsupported' | 'session_replaced' | 'token_required' | 'token_invalid'
  | 'token_expired' | 'origin_refused' | 'admin_refused' | 'too_many_subscriptions' | 'slow_consumer' | 'no_consumer'
  | 'unknown_queue'
  | 'queue_exists' | 'unknown_message' | 'not_allowed' | 'not_granted' | 'plugin_rejected'
  | 'plugin_dropped' | 'node_unavailable' | 'timed_out' | 'storage_full' | 'storage_failed'
  | 'plugin_failed' | 'bad_data' | 'not_started'
  | 'bind_failed' | 'bad_endpoint' | 'beacon_failed' | 'no_such_client' | 'bad_option'
  | 'no_edge' | 'storage_corrupt' | 'mesh_insecure' | 'bad_key' | 'bad_plugin'
  | 'package_refused' | 'signature_refused' | 'hub_unavailable' | 'unknown_plugin' | 'closed'
  | 'buffer_full'
  | 'token_unavailable' | 'socket_failed' | 'handler_failed';

/** An error the edge answered, or one the SDK raised (codes 4700-4799). */
export class AdashtaError extends Error {
  /** The catalogue's name, e.g. 'no_consumer'. */
  readonly name: ErrorName;
  /** The catalogue's code, e.g. 4104; also the WebSocket close code when it closed the connection. */
  readonly code: number;
  /** What to do about it. */
  readonly hint?: string;
  /** Extra context from the edge. */
  readonly detail?: string;
}

export interface ConnectOptions {
  /** WebSocket URL; default: /ws of the origin that served adashta.js. */
  url?: string;
  /** A connection token (JWT) for edges with --auth. */
  token?: string;
  /** Returns a token (or a Promise of one): before the first connection, before expiry, after a refusal. */
  getToken?: () => string | Promise<string>;
  /** Resume this session id (with its secret); default: the one kept in sessionStorage. */
  session?: string;
  /** The resume secret the edge gave the session in welcome. */
  secret?: string;
  /** WebSocket subprotocols to offer. */
  protocols?: string | string[];
  /** Keep the session in sessionStorage so a reload resumes it (default true). */
  persistSession?: boolean;
  /** Requests that may wait while disconnected (default 1000); more fail with buffer_full. */
  maxBuffered?: number;
  /** A WebSocket implementation, for use outside browsers. */
  WebSocket?: unknown;
}

export interface MessageMeta {
  /** The message id: drop duplicates by it. */
  id: string;
  queue: string;
  /** When the edge accepted it, ms since the epoch. */
  ts: number;
  /** Its place in the queue's stream; absent on at-most-once queues. */
  offset?: number;
}

export interface ProduceOptions {
  /** Hold it at the edge this many ms (where the queue sets clientSchedule). */
  delay?: number;
  /** Or until then. */
  deliverAt?: number | Date;
}

export interface FetchOptions {
  /** The first offset (0: the oldest kept). */
  from?: number;
  /** Or: created at or after. */
  since?: number | Date;
  /** 1-1000, default 100. */
  limit?: number;
}

export interface StoredMessage {
  id: string;
  offset: number;
  data: Json;
  ts: number;
}

export interface Events {
  connect: { session: string; resumed: boolean; user?: string };
  disconnect: { code: number; reason: string };
  error: AdashtaError;
  /** Retention dropped these offsets before the client could read them. */
  gap: { queue: string; from: number; to: number };
  /** A refresh replaced the token on the open connection. */
  token: { refreshed: boolean };
}

export interface Client {
  readonly session: string | undefined;
  /** The token's sub, from welcome; undefined when anonymous. */
  readonly user: string | undefined;
  readonly connected: boolean;
  readonly url: string;
  /** Sends data to the server node that owns this session on queue; resolves once stored. */
  produce(queue: string, data: Json, options?: ProduceOptions): Promise<{ id: string }>;
  /** Calls handler for each message on queue (missed ones first after a reconnect). */
  consume(queue: string, handler: (data: Json, meta: MessageMeta) => void): Promise<unknown>;
  /** Removes one handler, or all of them. */
  unconsume(queue: string, handler?: (data: Json, meta: MessageMeta) => void): Promise<void>;
  /** Reads what the edge keeps of queue. */
  fetch(queue: string, options?: FetchOptions): Promise<{ messages: StoredMessage[]; next: number }>;
  on<E extends keyof Events>(event: E, listener: (arg: Events[E]) => void): Client;
  off<E extends keyof Events>(event: E, listener: (arg: Events[E]) => void): Client;
  /** Replaces the token now (with getToken). */
  refresh(): Promise<void>;
  /** Closes for good: no reconnect; waiting requests fail with closed. */
  close(): void;
}

export function connect(options?: ConnectOptions): Client;
export function socketUrl(url: string, base?: string): string;
export const version: string;
/** The catalogue: name -> code, e.g. errors.no_consumer === 4104. */
export const errors: Readonly<Record<ErrorName, number>>;

declare const adashta: {
  connect: typeof connect;
  socketUrl: typeof socketUrl;
  version: string;
  errors: typeof errors;
  AdashtaError: typeof AdashtaError;
};
export default adashta;

declare global {
  /** The classic script (<script src="/adashta.js">) defines this global. */
  // eslint-disable-next-line no-var
  var adashta: typeof import('./adashta').default;
}
