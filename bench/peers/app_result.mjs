// What a server application reports (bench/CONTRACT.md "Server applications"):
// messages received, first and last arrival, rate, and the peak of open connections.
//
//   const result = new AppResult("ws_server", "sink");
//   result.connection_opened(); ... result.message_received(); ... result.connection_closed();
//   (mode "both", the flood scenario: message_received() for the sink's messages,
//   message_echoed() for the requests answered)
//   result.print_on_signal(() => server.close());  // SIGTERM/SIGINT → result line, exit 0
//
// message_received() is on the measured hot path: one clock read and two stores.
import { performance } from "node:perf_hooks";
import { print_json } from "./flags.mjs";

export class AppResult {
  constructor(tool, mode) {
    this.tool_ = tool; // "socketio_server" | "ws_server"
    this.mode_ = mode; // "sink" | "echo" | "both"
    this.received_ = 0; // messages handled (counted in sink, answered in echo, sink's in both)
    this.echoed_ = 0; // both: requests answered
    this.first_ms_ = 0; // performance.now() of the first message, 0 before it
    this.last_ms_ = 0; // performance.now() of the latest message
    this.connections_ = 0; // open now
    this.peak_connections_ = 0; // most open at once
  }

  message_received() {
    const now = performance.now();
    if (this.received_++ === 0) this.first_ms_ = now;
    this.last_ms_ = now;
  }

  message_echoed() {
    this.echoed_++;
  }

  connection_opened() {
    if (++this.connections_ > this.peak_connections_) this.peak_connections_ = this.connections_;
  }

  connection_closed() {
    --this.connections_;
  }

  // The result object; times are Unix epoch milliseconds so runs can be lined up
  // with the load generator's clock.
  result() {
    const span_ms = this.last_ms_ - this.first_ms_;
    const epoch = (ms) => (this.received_ ? Math.round((performance.timeOrigin + ms) * 1000) / 1000 : 0);
    return {
      tool: this.tool_,
      mode: this.mode_,
      received: this.received_,
      first_ms: epoch(this.first_ms_),
      last_ms: epoch(this.last_ms_),
      rate: span_ms > 0 ? Math.round((this.received_ * 1000) / span_ms) : 0,
      connections: this.peak_connections_,
      ...(this.mode_ === "both" ? { echoed: this.echoed_ } : {}),
    };
  }

  // On SIGTERM or SIGINT: prints the result line and exits 0 without waiting for
  // connections to drain (`close` is called but not awaited).
  print_on_signal(close) {
    const stop = () => {
      print_json(this.result());
      close();
      process.exit(0);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  }
}
