// One Accord seat played by the official Socket.IO JS client, for tests/hub/test_e2e_js.py.
//
// Reads a JSON job on stdin (or as the first argument):
//   {url, token, join?: {last_seq?, epoch?}, steps?: [...], timeout_ms?}
// where each step is one of
//   {send: {type, ...fields}, cid?}   emit `command` with a cid and await its ack
//   {wait: {type, count?}}            wait until `count` events of `type` have arrived
// Connects over websocket only with the msgpack parser and `auth: {token}`,
// joins, plays the steps in order, then prints one JSON line:
//   {connect_error, join, snapshots, events, acks, presence, notices, error}
// where each ack is {cid, type, ack, seen}: `seen` is the last seq received before it.
// A refused connection is a result, not a failure: `connect_error` holds its data.

import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";

const require = createRequire(import.meta.url);
const parser = require("socket.io-msgpack-parser");

async function readJob() {
  if (process.argv[2]) return JSON.parse(process.argv[2]);
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function play(job) {
  const timeoutMs = job.timeout_ms ?? 10000;
  const result = {
    connect_error: null,
    join: null,
    snapshots: [],
    events: [],
    acks: [],
    presence: [],
    notices: [],
    error: null,
  };
  const waiters = [];
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const socket = io(job.url, {
    transports: ["websocket"],
    parser,
    auth: { token: job.token },
    reconnection: false,
    timeout: timeoutMs,
  });
  socket.on("snapshot", (snapshot) => {
    result.snapshots.push(snapshot);
    wake();
  });
  socket.on("events", (batch) => {
    result.events.push(...batch.events);
    wake();
  });
  socket.on("presence", (presence) => result.presence.push(presence));
  socket.on("notice", (notice) => result.notices.push(notice));

  const count = (type) => result.events.filter((event) => event.type === type).length;
  const waitFor = (type, n) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (count(type) >= n) {
          waiters.splice(waiters.indexOf(check), 1);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(check), 1);
        reject(new Error(`timed out waiting for ${n} × ${type} (have ${count(type)})`));
      }, timeoutMs);
      waiters.push(check);
      check();
    });

  return new Promise((resolve) => {
    const finish = (error) => {
      if (error) result.error = String(error.message ?? error);
      socket.close();
      resolve(result);
    };
    socket.on("connect_error", (err) => {
      result.connect_error = err.data ?? { message: err.message };
      finish();
    });
    socket.on("connect", async () => {
      try {
        result.join = await socket.timeout(timeoutMs).emitWithAck("join", job.join ?? {});
        for (const step of job.steps ?? []) {
          if (step.send) {
            const command = { cid: step.cid ?? randomUUID(), ...step.send };
            const ack = await socket.timeout(timeoutMs).emitWithAck("command", command);
            // What had arrived when the ack did: a command's events come before its ack.
            const seen = result.events.length ? result.events[result.events.length - 1].seq : 0;
            result.acks.push({ cid: command.cid, type: command.type, ack, seen });
          } else if (step.wait) {
            await waitFor(step.wait.type, step.wait.count ?? 1);
          } else {
            throw new Error(`unknown step ${JSON.stringify(step)}`);
          }
        }
        finish();
      } catch (err) {
        finish(err);
      }
    });
  });
}

const result = await play(await readJob());
process.stdout.write(JSON.stringify(result) + "\n");
