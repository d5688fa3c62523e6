// UDP beacon discovery (src/beacon.js and Mesh.heardBeacon), without root and without a
// network: payloads, interface lookup, the option/environment mapping, a beacon that hears
// itself over loopback, and what the mesh does with what it hears. Beacons between real
// members are tested in network namespaces by tests/netns/beacon_discovery.sh.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { Adashta, AdashtaError } from 'adashta';
import { Beacon, interfaceAddress, parseBeacon } from '../src/beacon.js';
import { Mesh } from '../src/mesh.js';
import { Role } from '../src/codec.js';
import { resolveOptions } from '../src/options.js';

const id = '0123456789abcdef0123456789abcdef';
const key = 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7';

describe('beacon payloads', () => {
  test('a plain beacon names the node and its endpoint', () => {
    assert.deepEqual(parseBeacon(`ADASHTA1 ${id} tcp://10.0.0.1:7701`), { id, endpoint: 'tcp://10.0.0.1:7701', key: '' });
  });

  test('a CURVE beacon also carries the public key', () => {
    assert.deepEqual(parseBeacon(`ADASHTA1 ${id} tcp://10.0.0.1:7701 ${key}`), { id, endpoint: 'tcp://10.0.0.1:7701', key });
  });

  test('what is not an Adashta beacon is not one', () => {
    for (const payload of ['', 'ADASHTA1', `ADASHTA1 ${id}`, `ADASHTA2 ${id} tcp://10.0.0.1:7701`, `xADASHTA1 ${id} tcp://10.0.0.1:7701`]) {
      assert.equal(parseBeacon(payload), null, payload);
    }
  });
});

describe('the beacon interface', () => {
  const interfaces = {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', internal: true }],
    veth0: [
      { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', internal: false },
      { address: '10.77.5.11', netmask: '255.255.255.0', family: 'IPv4', internal: false },
    ],
    v6only: [{ address: 'fe80::2', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', internal: false }],
  };

  test('gives its IPv4 address and its broadcast address', () => {
    assert.deepEqual(interfaceAddress('veth0', interfaces), { address: '10.77.5.11', broadcast: '10.77.5.255' });
    assert.deepEqual(interfaceAddress('lo', interfaces), { address: '127.0.0.1', broadcast: '127.255.255.255' });
  });

  test('an interface that does not exist is beacon_failed, naming the ones that do', () => {
    assert.throws(() => interfaceAddress('adq-no-such-if', interfaces), (err) => {
      assert.ok(err instanceof AdashtaError);
      assert.equal(err.code, 4604);
      assert.equal(err.codeName, 'beacon_failed');
      assert.match(err.message, /no network interface "adq-no-such-if".*lo, veth0, v6only.*ADASHTA_BEACON/);
      return true;
    });
  });

  test('an interface without an IPv4 address is beacon_failed', () => {
    assert.throws(() => interfaceAddress('v6only', interfaces), (err) => {
      assert.equal(err.codeName, 'beacon_failed');
      assert.match(err.message, /"v6only" has no IPv4 address/);
      return true;
    });
  });

  test('a beacon hears what it publishes (loopback stands in for the interface)', async (t) => {
    // A /32 on loopback: the "broadcast" address is 127.0.0.1 itself, so nothing leaves the host.
    const beacon = await Beacon.open('test0', 0, { interfaces: { test0: [{ address: '127.0.0.1', netmask: '255.255.255.255', family: 'IPv4' }] } });
    t.after(() => beacon.close());
    assert.equal(beacon.address, '127.0.0.1');
    const heard = new Promise((resolve) => { beacon.onHeard = (from, payload) => resolve({ from, payload }); });
    beacon.publish(`ADASHTA1 ${id} tcp://127.0.0.1:7701`, 50);
    assert.deepEqual(await heard, { from: '127.0.0.1', payload: `ADASHTA1 ${id} tcp://127.0.0.1:7701` });
    beacon.close();
    beacon.close(); // idempotent
    assert.equal(beacon.timer, null);
  });

  test('a payload over 255 bytes is refused, as zbeacon would cut it', async (t) => {
    const beacon = await Beacon.open('test0', 0, { interfaces: { test0: [{ address: '127.0.0.1', netmask: '255.255.255.255', family: 'IPv4' }] } });
    t.after(() => beacon.close());
    assert.throws(() => beacon.publish(`ADASHTA1 ${'x'.repeat(300)}`), /at most 255 bytes/);
  });
});

describe('beacon options', () => {
  test('ADASHTA_BEACON and ADASHTA_BEACON_PORT set beacon and beaconPort', () => {
    const o = resolveOptions({}, { ADASHTA_BEACON: 'adq-beacon', ADASHTA_BEACON_PORT: '5999' });
    assert.equal(o.beacon, 'adq-beacon');
    assert.equal(o.beaconPort, 5999);
  });

  test('beacons are off by default, on port 5670', () => {
    const o = resolveOptions({}, {});
    assert.equal(o.beacon, '');
    assert.equal(o.beaconPort, 5670);
  });

  test('with a beacon and no seeds, a node meets by beacon alone', () => {
    assert.deepEqual(resolveOptions({ beacon: 'adq-beacon' }, {}).seeds, []);
    assert.deepEqual(resolveOptions({}, { ADASHTA_BEACON: 'adq-beacon' }).seeds, []);
    assert.deepEqual(resolveOptions({}, {}).seeds, ['tcp://127.0.0.1:7700']);
  });

  test('seeds given beside a beacon are kept', () => {
    assert.deepEqual(resolveOptions({ beacon: 'adq-beacon', seeds: ['tcp://10.0.0.1:7700'] }, {}).seeds, ['tcp://10.0.0.1:7700']);
    assert.deepEqual(resolveOptions({}, { ADASHTA_BEACON: 'adq-beacon', ADASHTA_SEEDS: 'tcp://10.0.0.1:7700' }).seeds, ['tcp://10.0.0.1:7700']);
  });

  test('a beacon port out of range is bad_option', () => {
    assert.throws(() => resolveOptions({}, { ADASHTA_BEACON_PORT: '70000' }), (err) => err.codeName === 'bad_option' && /ADASHTA_BEACON_PORT/.test(err.message));
    assert.throws(() => resolveOptions({ beaconPort: 0 }, {}), (err) => err.codeName === 'bad_option' && /beaconPort/.test(err.message));
  });

  test('connect() on an interface that does not exist rejects with beacon_failed', async () => {
    const node = new Adashta({ beacon: 'adq-no-such-if', connectTimeoutMs: 1000 });
    try {
      await assert.rejects(node.connect(), (err) => err.codeName === 'beacon_failed' && /adq-no-such-if/.test(err.message));
    } finally {
      await node.close();
    }
  });
});

describe('what the mesh does with a beacon it hears', () => {
  async function startedMesh(t, curve = null) {
    const lines = [];
    const mesh = new Mesh({ bind: 'tcp://127.0.0.1:*', seeds: [], name: 'm', role: Role.Node, heartbeatMs: 200, peerTimeoutMs: 1000, curve, log: (line) => lines.push(line) });
    await mesh.start();
    t.after(() => mesh.stop());
    return { mesh, lines };
  }

  test('dials the member it announces, not forever, and never itself', async (t) => {
    const { mesh } = await startedMesh(t);
    mesh.heardBeacon('127.0.0.1', `ADASHTA1 ${mesh.id} tcp://127.0.0.1:1`);
    mesh.heardBeacon('127.0.0.1', `ADASHTA1 ${id} ${mesh.endpoint}`);
    assert.equal(mesh.wanted.size, 0);
    mesh.heardBeacon('127.0.0.1', `ADASHTA1 ${id} tcp://127.0.0.1:1`);
    assert.equal(mesh.wanted.get('tcp://127.0.0.1:1')?.forever, false);
  });

  test('on a CURVE mesh, only allow-listed keys are dialed; others are logged once per key', async (t) => {
    const own = zmq.curveKeyPair();
    const member = zmq.curveKeyPair();
    const stranger = zmq.curveKeyPair();
    const allowed = new Map([own, member].map((pair) => [pair.publicKey, { key: pair.publicKey, roles: new Set(['node']), endpoint: '' }]));
    const { mesh, lines } = await startedMesh(t, { publicKey: own.publicKey, secretKey: own.secretKey, allowed });
    for (let i = 0; i < 3; ++i) mesh.heardBeacon('10.0.0.9', `ADASHTA1 ${id} tcp://127.0.0.1:2 ${stranger.publicKey}`);
    mesh.heardBeacon('10.0.0.9', `ADASHTA1 ${id} tcp://127.0.0.1:2`);
    assert.equal(mesh.wanted.size, 0);
    assert.deepEqual(lines.filter((l) => l.startsWith('ignored beacons')), [
      `ignored beacons from 10.0.0.9 (tcp://127.0.0.1:2): key ${stranger.publicKey} is not in the allow-list`,
      'ignored beacons from 10.0.0.9 (tcp://127.0.0.1:2): they carry no key',
    ]);
    mesh.heardBeacon('10.0.0.8', `ADASHTA1 ${id} tcp://127.0.0.1:3 ${member.publicKey}`);
    assert.equal(mesh.wanted.get('tcp://127.0.0.1:3')?.forever, false);
    assert.equal(mesh.keyOf('tcp://127.0.0.1:3'), member.publicKey);
  });
});
