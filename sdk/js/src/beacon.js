// Beacon: UDP discovery on one named interface, as CZMQ's zbeacon does it for the edge and
// the C++ SDK (and sdk/go/beacon.go for Go): every 500 ms one datagram
// "ADASHTA1 <node id> <endpoint>[ <public key>]" goes to the interface's IPv4 broadcast
// address on the beacon port (5670 by default), and what others broadcast there is heard.
// What is heard is only a candidate: membership is confirmed by a Hello over the mesh.
//
// Off unless an interface is named: beacons must never leave a network the operator chose
// (the tests run them only inside network namespaces they create).
//
//   const beacon = await Beacon.open('veth0', 5670);   // throws beacon_failed
//   beacon.onHeard = (from, payload) => ...;            // from: sender's IP address
//   beacon.publish(`ADASHTA1 ${id} ${endpoint}`, 500);  ...  beacon.close();
//
// Ownership: the socket and the timer belong to the event loop; onHeard runs on it.

import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { AdashtaError } from './errors.js';

export const kBeaconPrefix = 'ADASHTA1 ';
export const kBeaconIntervalMs = 500;
const kMaxPayload = 255; // zbeacon's frame limit: longer beacons are cut short by C++ members

/**
 * The IPv4 address and broadcast address of interface `name`, from `interfaces` (the shape
 * of os.networkInterfaces()). Throws beacon_failed saying what to name instead.
 */
export function interfaceAddress(name, interfaces = os.networkInterfaces()) {
  const entries = interfaces[name];
  // Node lists only interfaces that have an address; /sys tells a missing one apart.
  const exists = !!entries || existsSync(`/sys/class/net/${name}`);
  if (!exists) {
    const known = Object.keys(interfaces).join(', ') || 'none';
    throw new AdashtaError('beacon_failed', `there is no network interface "${name}" (interfaces with an address here: ${known}); set beacon (ADASHTA_BEACON) to one of them`);
  }
  const v4 = (entries ?? []).find((e) => e.family === 'IPv4' || e.family === 4);
  if (!v4) {
    throw new AdashtaError('beacon_failed', `interface "${name}" has no IPv4 address; give it one, or set beacon (ADASHTA_BEACON) to an interface that has one`);
  }
  const octets = (text) => text.split('.').map(Number);
  const address = octets(v4.address);
  const mask = octets(v4.netmask);
  const broadcast = address.map((byte, i) => (byte | (~mask[i] & 0xff)) & 0xff).join('.');
  return { address: v4.address, broadcast };
}

/**
 * What a beacon announces: { id, endpoint, key } (key '' without CURVE), or null when the
 * payload is not an Adashta beacon. The endpoint is as sent; the mesh normalizes it.
 */
export function parseBeacon(payload) {
  if (!payload.startsWith(kBeaconPrefix)) return null;
  const fields = payload.slice(kBeaconPrefix.length).split(' ').filter(Boolean);
  if (fields.length < 2) return null;
  return { id: fields[0], endpoint: fields[1], key: fields[2] ?? '' };
}

export class Beacon {
  /**
   * Listens on UDP `port` (every address; shared with other members on the host) and finds
   * `interfaceName`'s addresses. Throws beacon_failed when the interface is missing, has no
   * IPv4 address, or the port cannot be bound.
   */
  static async open(interfaceName, port, { interfaces } = {}) {
    const { address, broadcast } = interfaceAddress(interfaceName, interfaces);
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '0.0.0.0', () => {
        socket.off('error', reject);
        resolve();
      });
    }).catch((err) => {
      socket.close();
      throw new AdashtaError('beacon_failed', `UDP port ${port}: ${err.message}; set beaconPort (ADASHTA_BEACON_PORT) to a free port that every member uses`);
    });
    socket.setBroadcast(true);
    return new Beacon(socket, address, broadcast, socket.address().port); // port 0: the one picked
  }

  constructor(socket, address, broadcast, port) {
    this.socket = socket;       // dgram udp4, bound to 0.0.0.0:port
    this.address = address;     // this host's IPv4 address on the interface: what to advertise
    this.broadcast = broadcast; // where beacons go
    this.port = port;           // the beacon port, sent to and listened on
    this.timer = null;          // the publishing interval, while publishing
    this.closed = false;
    this.onHeard = () => {};    // (from address, payload text) for every Adashta beacon heard
    this.onError = () => {};    // (message) when a send or the socket fails; the beacon goes on
    socket.on('message', (bytes, from) => {
      const payload = bytes.toString('latin1');
      if (payload.startsWith(kBeaconPrefix)) this.onHeard(from.address, payload);
    });
    socket.on('error', (err) => this.onError(`beacon socket: ${err.message}`));
  }

  /** Broadcasts payload now and then every intervalMs until close(); replaces an earlier one. */
  publish(payload, intervalMs = kBeaconIntervalMs) {
    if (this.closed) return;
    const bytes = Buffer.from(payload, 'latin1');
    if (bytes.length > kMaxPayload) throw new AdashtaError('beacon_failed', `a beacon holds at most ${kMaxPayload} bytes; this one has ${bytes.length}`);
    clearInterval(this.timer);
    const send = () => {
      this.socket.send(bytes, this.port, this.broadcast, (err) => {
        if (err && !this.closed) this.onError(`beacon to ${this.broadcast}:${this.port}: ${err.message}`);
      });
    };
    send();
    this.timer = setInterval(send, intervalMs);
  }

  /** Stops publishing and closes the socket. Idempotent. */
  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.timer = null;
    try { this.socket.close(); } catch { /* already closed */ }
  }
}
