// TypeScript declarations of the package `adashta` (the Node.js server SDK of Adashta Queue).
import { EventEmitter } from 'node:events';
import { codes as catalogueCodes } from '../generated/errors.js';

export declare const codes: typeof catalogueCodes;

/** Every failure of the SDK: the catalogue's code (4105) and name ('unknown_queue'). */
export declare class AdashtaError extends Error {
  constructor(codeOrName: string | number, detail?: string);
  readonly code: number;
  readonly codeName: keyof typeof catalogueCodes | string;
  /** What exactly was wrong (the edge's detail, or the SDK's). */
  readonly detail: string;
}

/** Options; each defaults to its ADASHTA_* variable, then to the default shown. */
export interface AdashtaOptions {
  /** Edges (or nodes) to join, tcp://HOST:PORT[|KEY]. ADASHTA_SEEDS (comma-separated); default ['tcp://127.0.0.1:7700']. */
  seeds?: string[] | string;
  /** Where this node's ROUTER listens. ADASHTA_BIND; default 'tcp://127.0.0.1:*'. */
  bind?: string;
  /** The endpoint peers dial, when bind is not it. ADASHTA_ADVERTISE. */
  advertise?: string;
  /** Not supported by this SDK yet (bad_option). ADASHTA_BEACON. */
  beacon?: string;
  beaconPort?: number;
  /** Label shown by `adashta peers`. ADASHTA_NAME. */
  name?: string;
  /** ADASHTA_HEARTBEAT_MS; default 1000. */
  heartbeatMs?: number;
  /** ADASHTA_PEER_TIMEOUT_MS; default 3000. */
  peerTimeoutMs?: number;
  /** CURVE key file (FILE_secret of `adashta keys new`). ADASHTA_MESH_KEY. */
  meshKey?: string;
  /** CURVE secret key, Z85. ADASHTA_MESH_SECRET. */
  meshSecret?: string;
  /** Allow-list file. ADASHTA_MESH_ALLOW. */
  meshAllow?: string;
  /** How long connect() waits for an edge; default 10000. */
  connectTimeoutMs?: number;
  /** How long a call (fetch, cancel, work queues, confirm) waits for its answer; default 10000 (+ wait). */
  callTimeoutMs?: number;
  /** Handlers at once per consumed queue (one client's messages always in order); default 1. */
  concurrency?: number;
}

/** A held message: the handler's return no longer acks it. */
export interface Deferred {
  /** Tells the edge it was handled. */
  ack(): void;
  /** Gives it up: it comes again after the queue's visibility timeout. */
  release(): void;
}

export interface Message<T = unknown> {
  id: string;
  queue: string;
  /** The sender's session id: reply with { to: msg.client }. */
  client: string;
  /** The sender's user (its token's sub), '' when anonymous. */
  user: string;
  /** The parsed JSON value the client sent. */
  data: T;
  createdMs: number;
  /** Place in the queue's stream; 0 on an at-most-once queue (never acked, never again). */
  offset: number;
  /** 1 on the first delivery, more on redeliveries. */
  receiveCount: number;
  defer(): Deferred;
}

export interface ClientEvent { client: string; user: string; resumed?: boolean }

export interface ProduceOptions {
  /** One client (session id). */
  to?: string;
  /** Every session of this user (token sub). */
  toUser?: string;
  /** ms to hold it at the edge. */
  delay?: number;
  /** ms since the epoch to hold it until. */
  deliverAt?: number;
  /** Wait until the edge stored it; reject with its error. */
  confirm?: boolean;
}

export interface StoredMessage { id: string; offset: number; client: string; data: unknown; ts: number }
export interface Peer { id: string; name: string; endpoint: string; role: 'node' | 'edge' | 'tool'; queues: string[] }

export interface Job { id: string; message: string; rc: number; fr: number; sent: number }
export interface QueueAttributes {
  vt: number; delay: number; maxsize: number; totalrecv: number; totalsent: number; created: number;
  modified: number; msgs: number; hiddenmsgs: number; maxReceive: number; deadLetter: string; totaldead: number;
}
export interface QueueOptions { qname: string; vt?: number; delay?: number; maxsize?: number; maxReceive?: number; deadLetter?: string }

/** RSMQ's API on the edge's work queues. Times in seconds (units 's', RSMQ's) or ms. */
export declare class WorkQueues {
  constructor(node: Adashta, options?: { units?: 's' | 'ms' });
  createQueue(o: QueueOptions): Promise<1>;
  deleteQueue(o: { qname: string }): Promise<1>;
  listQueues(): Promise<string[]>;
  getQueueAttributes(o: { qname: string }): Promise<QueueAttributes>;
  setQueueAttributes(o: QueueOptions): Promise<QueueAttributes>;
  sendMessage(o: { qname: string; message: string; delay?: number }): Promise<string>;
  sendMessageBatch(o: { qname: string; messages: string[]; delay?: number }): Promise<string[]>;
  receiveMessage(o: { qname: string; vt?: number; wait?: number }): Promise<Job | Record<string, never>>;
  receiveMessageBatch(o: { qname: string; max: number; vt?: number; wait?: number }): Promise<Job[]>;
  popMessage(o: { qname: string; wait?: number }): Promise<Job | Record<string, never>>;
  deleteMessage(o: { qname: string; id: string }): Promise<0 | 1>;
  deleteMessageBatch(o: { qname: string; ids: string[] }): Promise<boolean[]>;
  changeMessageVisibility(o: { qname: string; id: string; vt: number }): Promise<1>;
  createQueueAsync: WorkQueues['createQueue'];
  deleteQueueAsync: WorkQueues['deleteQueue'];
  listQueuesAsync: WorkQueues['listQueues'];
  getQueueAttributesAsync: WorkQueues['getQueueAttributes'];
  setQueueAttributesAsync: WorkQueues['setQueueAttributes'];
  sendMessageAsync: WorkQueues['sendMessage'];
  sendMessageBatchAsync: WorkQueues['sendMessageBatch'];
  receiveMessageAsync: WorkQueues['receiveMessage'];
  receiveMessageBatchAsync: WorkQueues['receiveMessageBatch'];
  popMessageAsync: WorkQueues['popMessage'];
  deleteMessageAsync: WorkQueues['deleteMessage'];
  deleteMessageBatchAsync: WorkQueues['deleteMessageBatch'];
  changeMessageVisibilityAsync: WorkQueues['changeMessageVisibility'];
}

export interface TokenClaims { sub: string; exp?: number; ttl?: number; produce?: string[]; consume?: string[]; fetch?: string[]; [claim: string]: unknown }
export type SigningKey = { secret: string | Uint8Array } | { privateKey: string | object; alg?: 'RS256' | 'ES256' };
export type VerifyingKey = { secret: string | Uint8Array } | { publicKey: string | object; alg?: 'RS256' | 'ES256' };

export declare function mintToken(claims: TokenClaims, key: SigningKey): Promise<string>;
export declare function verifyToken(token: string, key: VerifyingKey): Promise<Record<string, unknown> & { sub: string; exp: number }>;
export declare function checkQueue(queue: string): void;

export declare class Adashta extends EventEmitter {
  constructor(options?: AdashtaOptions);
  static mintToken: typeof mintToken;
  static verifyToken: typeof verifyToken;
  readonly options: Required<AdashtaOptions>;
  readonly id: string;
  readonly endpoint: string;
  connect(): Promise<this>;
  waitForEdge(timeoutMs?: number): Promise<void>;
  consume<T = unknown>(queue: string, handler: (msg: Message<T>) => unknown, options?: { concurrency?: number }): void;
  unconsume(queue: string): void;
  produce(queue: string, data: unknown, options?: ProduceOptions): Promise<string>;
  produceJson(queue: string, text: string, options?: ProduceOptions): Promise<string>;
  cancel(id: string): Promise<void>;
  fetch(queue: string, options?: { from?: number; since?: number; limit?: number }): Promise<{ messages: StoredMessage[]; next: number }>;
  peers(): Peer[];
  workQueues(options?: { units?: 's' | 'ms' }): WorkQueues;
  call(op: string, args?: object, options?: { timeoutMs?: number }): Promise<any>;
  close(): Promise<void>;

  on(event: 'connection', listener: (e: ClientEvent) => void): this;
  on(event: 'disconnection', listener: (e: ClientEvent) => void): this;
  on(event: 'error', listener: (err: Error & { queue: string; messageId: string }) => void): this;
  on(event: 'edgeUp', listener: (e: { id: string; name: string; endpoint: string }) => void): this;
  on(event: 'edgeDown', listener: (e: { id: string; name: string }) => void): this;
  on(event: 'log', listener: (line: string) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}
