// The message exchange half of tests/netns/beacon_discovery.sh: a WebSocket client that
// opens sessions on an edge, produces to a queue from each, and checks that every message
// is acked and answered by a test node (tests/integration/test_node.cpp answers each
// message to its sender with {"node": NAME, "data": DATA}).
//
//   node tests/netns/exchange.mjs --url ws://127.0.0.1:8080/ws --queue work --nodes n1,n2
//
// The edge picks a node per session by hashing the session id, so a handful of sessions can
// all land on one node. Sessions are opened in small batches until every expected node has
// answered (or --max-sessions is reached). Exits 0 when everything checked out; otherwise
// prints "exchange: <why>" on stderr and exits 1.

import WebSocket from 'ws';

function parseArgs(argv) {
  const options = {
    url: 'ws://127.0.0.1:8080/ws',
    queue: 'work',
    nodes: [],             // names that must each answer at least one session
    minSessions: 3,        // "a few sessions", even when the nodes answered sooner
    maxSessions: 32,       // by then a ring that never picks one of two nodes is a bug
    batch: 4,              // sessions open at once
    perSession: 3,         // messages each session produces
    timeoutMs: 20000,      // the whole exchange
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case '--url': options.url = value; break;
      case '--queue': options.queue = value; break;
      case '--nodes': options.nodes = value.split(',').filter(Boolean); break;
      case '--min-sessions': options.minSessions = Number(value); break;
      case '--max-sessions': options.maxSessions = Number(value); break;
      case '--per-session': options.perSession = Number(value); break;
      case '--timeout-ms': options.timeoutMs = Number(value); break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  return options;
}

// One session: hello, then perSession produces; resolves with the name of the node that
// answered. Rejects on an error frame, a missing ack or answer, a wrong answer, or answers
// from more than one node (a session keeps its node while the node lives).
function runSession(options, index, deadline) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(options.url);
    const acked = new Set();
    const answered = new Map();  // seq -> node name
    let session = null;
    let settled = false;

    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners('close');
      ws.close();
      if (err) reject(new Error(`session ${index}${session ? ` (${session})` : ''}: ${err}`));
      else resolve(value);
    };
    const timer = setTimeout(() => {
      const missingAcks = options.perSession - acked.size;
      const missingAnswers = options.perSession - answered.size;
      finish(session ? `timed out: ${missingAcks} ack(s) and ${missingAnswers} answer(s) missing`
                     : 'timed out before welcome');
    }, Math.max(0, deadline - Date.now()));

    ws.on('error', (err) => finish(`websocket error: ${err.message}`));
    ws.on('close', (code, reason) => finish(`closed by the edge: ${code} ${reason}`));
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello' })));
    ws.on('message', (raw) => {
      let frame;
      try {
        frame = JSON.parse(raw.toString());
      } catch {
        return finish(`edge sent a frame that is not JSON: ${raw}`);
      }
      switch (frame.type) {
        case 'welcome':
          session = frame.session;
          for (let seq = 1; seq <= options.perSession; ++seq) {
            ws.send(JSON.stringify({ type: 'produce', ref: seq, queue: options.queue,
                                     data: { session: index, seq } }));
          }
          break;
        case 'ack':
          if (!(frame.ref >= 1 && frame.ref <= options.perSession)) return finish(`ack for unknown ref ${frame.ref}`);
          acked.add(frame.ref);
          break;
        case 'message': {
          const { node, data } = frame.data ?? {};
          if (frame.queue !== options.queue || typeof node !== 'string' || data?.session !== index) {
            return finish(`unexpected message ${raw}`);
          }
          answered.set(data.seq, node);
          break;
        }
        case 'error':
          return finish(`edge answered with error ${frame.name} (${frame.code}): ${frame.message}`);
        default:
          return finish(`unexpected frame ${raw}`);
      }
      if (acked.size === options.perSession && answered.size === options.perSession) {
        const nodes = new Set(answered.values());
        if (nodes.size !== 1) return finish(`answered by several nodes: ${[...nodes].join(', ')}`);
        finish(null, [...nodes][0]);
      }
    });
  });
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const deadline = Date.now() + options.timeoutMs;
  const sessionsPerNode = new Map();
  let sessions = 0;
  const allNodesAnswered = () => options.nodes.every((n) => sessionsPerNode.has(n));

  while (sessions < options.maxSessions && (sessions < options.minSessions || !allNodesAnswered())) {
    const batch = [];
    for (let i = 0; i < options.batch && sessions < options.maxSessions; ++i) {
      batch.push(runSession(options, ++sessions, deadline));
    }
    for (const node of await Promise.all(batch)) {
      sessionsPerNode.set(node, (sessionsPerNode.get(node) ?? 0) + 1);
    }
  }

  const summary = [...sessionsPerNode].sort().map(([n, count]) => `${n}: ${count}`).join(', ');
  const unexpected = [...sessionsPerNode.keys()].filter((n) => options.nodes.length && !options.nodes.includes(n));
  if (unexpected.length) throw new Error(`answers from unexpected nodes ${unexpected.join(', ')} (${summary})`);
  if (!allNodesAnswered()) {
    const silent = options.nodes.filter((n) => !sessionsPerNode.has(n));
    throw new Error(`${silent.join(', ')} answered none of ${sessions} sessions (${summary})`);
  }
  console.log(`exchange: ${sessions} sessions x ${options.perSession} messages on "${options.queue}", ` +
              `all acked and answered; sessions per node: ${summary}`);
}

main().then(() => process.exit(0), (err) => {
  console.error(`exchange: ${err.message}`);
  process.exit(1);
});
