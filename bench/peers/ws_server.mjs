#!/usr/bin/env node
// The `ws` peer's server application (bench/CONTRACT.md): a raw ws@8 WebSocketServer
// on 127.0.0.1:PORT, no compression (ws's default).
//   sink: counts every text message;  echo: sends each message back as the same text.
//   both (the flood scenario): connections to the path /echo echo, all others are sinks.
// Prints {"event":"ready","port":P} when listening and the result line on SIGTERM/SIGINT.
//
//   node ws_server.mjs --port 9002 --mode echo
import { WebSocketServer } from "ws";
import { AppResult } from "./app_result.mjs";
import { parse_flags, print_json } from "./flags.mjs";

const usage = "usage: ws_server.mjs --port P --mode sink|echo|both";
const flags = parse_flags(process.argv.slice(2), usage, { port: null, mode: null });
if (!Number.isInteger(flags.port) || !["sink", "echo", "both"].includes(flags.mode)) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}

const result = new AppResult("ws_server", flags.mode);
// A deep accept backlog: the idle scenario opens tens of thousands of connections at once.
const server = new WebSocketServer({ host: "127.0.0.1", port: flags.port, backlog: 4096, perMessageDeflate: false });

// The handlers are the measured hot path: keep them to the count and the reply.
function on_sink_message() {
  result.message_received();
}

function on_echo_message(data, is_binary) {
  result.message_received();
  this.send(data, { binary: is_binary });
}

function on_flood_echo_message(data, is_binary) {
  result.message_echoed();
  this.send(data, { binary: is_binary });
}

const on_message = flags.mode === "sink" ? on_sink_message : on_echo_message;

server.on("connection", (socket, request) => {
  result.connection_opened();
  if (flags.mode === "both") socket.on("message", request.url === "/echo" ? on_flood_echo_message : on_sink_message);
  else socket.on("message", on_message);
  socket.on("close", () => result.connection_closed());
  socket.on("error", () => {}); // a peer's reset closes the socket; "close" follows
});

server.on("listening", () => print_json({ event: "ready", port: flags.port }));
server.on("error", (error) => {
  process.stderr.write(`ws_server: cannot listen on 127.0.0.1:${flags.port}: ${error.message}\n`);
  process.exit(1);
});

result.print_on_signal(() => server.close());
