// Seats played by the official Socket.IO JS client (socket.io-client 4 with
// socket.io-msgpack-parser 3), driven line by line, for the tests of how a
// connection ends (tests/hub/test_lifecycle_js.py).
//
// Each client is configured as a browser page would be: websocket only, the
// msgpack parser, `auth: {token}`, and automatic reconnection ON, so that a
// server disconnect the client misreads shows up as a reconnection.
//
// stdin, one JSON object per line:
//   {"op": "open", "id": ID, "url": URL, "token": TOKEN}   connect, then join
//   {"op": "close", "id": ID}                              close that client
// stdout, one JSON object per line, as things happen:
//   {"id", "event": "joined", "ack"}         the join's ack
//   {"id", "event": "connect_error", "data"} a refused connection
//   {"id", "event": "notice", "notice"}      the application received a notice
//   {"id", "event": "disconnect", "reason", "notices"}   (notices: how many came before)
//   {"id", "event": "reconnected"}           the client connected again by itself
//   {"id", "event": "closed"}

import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const require = createRequire(import.meta.url);
const parser = require("socket.io-msgpack-parser");

const clients = new Map();
const say = (message) => process.stdout.write(JSON.stringify(message) + "\n");

function open({ id, url, token }) {
  const socket = io(url, {
    transports: ["websocket"],
    parser,
    auth: { token },
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    forceNew: true,
  });
  const state = { socket, notices: 0, connects: 0 };
  clients.set(id, state);
  socket.on("connect", async () => {
    state.connects += 1;
    if (state.connects > 1) say({ id, event: "reconnected" });
    try {
      const ack = await socket.timeout(5000).emitWithAck("join", {});
      say({ id, event: "joined", ack });
    } catch (err) {
      say({ id, event: "join_failed", error: String(err) });
    }
  });
  socket.on("connect_error", (err) => say({ id, event: "connect_error", data: err.data ?? null }));
  socket.on("notice", (notice) => {
    state.notices += 1;
    say({ id, event: "notice", notice });
  });
  socket.on("disconnect", (reason) => say({ id, event: "disconnect", reason, notices: state.notices }));
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const command = JSON.parse(line);
  if (command.op === "open") open(command);
  else if (command.op === "close") {
    clients.get(command.id)?.socket.close();
    clients.delete(command.id);
    say({ id: command.id, event: "closed" });
  }
}
for (const { socket } of clients.values()) socket.close();
