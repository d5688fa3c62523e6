#!/usr/bin/env node
// The Socket.IO peer's server application (bench/CONTRACT.md): a Socket.IO 4 server
// on 127.0.0.1:PORT that accepts the WebSocket transport only, so clients connect
// straight to /socket.io/?EIO=4&transport=websocket (no HTTP long-polling upgrade).
// No compression: perMessageDeflate stays off (Socket.IO's default).
//   sink: counts each "bench" event;  echo: emits each "echo" event back to the same
//   socket with the same argument;  both (the flood scenario): the two at once.
// Prints {"event":"ready","port":P} when listening and the result line on SIGTERM/SIGINT.
//
//   node socketio_server.mjs --port 9001 --mode sink
import { createServer } from "node:http";
import { Server } from "socket.io";
import { AppResult } from "./app_result.mjs";
import { parse_flags, print_json } from "./flags.mjs";

const usage = "usage: socketio_server.mjs --port P --mode sink|echo|both";
const flags = parse_flags(process.argv.slice(2), usage, { port: null, mode: null });
if (!Number.isInteger(flags.port) || !["sink", "echo", "both"].includes(flags.mode)) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}

const result = new AppResult("socketio_server", flags.mode);
const http_server = createServer();
const io = new Server(http_server, { transports: ["websocket"], serveClient: false, perMessageDeflate: false });

// The handlers are the measured hot path: keep them to the count and the reply.
function on_sink_message() {
  result.message_received();
}

function on_echo_message(data) {
  result.message_received();
  this.emit("echo", data);
}

function on_flood_echo_message(data) {
  result.message_echoed();
  this.emit("echo", data);
}

io.on("connection", (socket) => {
  result.connection_opened();
  if (flags.mode === "sink") socket.on("bench", on_sink_message);
  else if (flags.mode === "echo") socket.on("echo", on_echo_message);
  else {
    socket.on("bench", on_sink_message);
    socket.on("echo", on_flood_echo_message);
  }
  socket.on("disconnect", () => result.connection_closed());
});

http_server.on("error", (error) => {
  process.stderr.write(`socketio_server: cannot listen on 127.0.0.1:${flags.port}: ${error.message}\n`);
  process.exit(1);
});
// A deep accept backlog: the idle scenario opens tens of thousands of connections at once.
http_server.listen({ host: "127.0.0.1", port: flags.port, backlog: 4096 }, () =>
  print_json({ event: "ready", port: flags.port }),
);

result.print_on_signal(() => io.close());
