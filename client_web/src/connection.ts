// One seat's live connection (PROTOCOL.md): connect with the invite token,
// join (resuming from the last seq and epoch), receive snapshot / events /
// presence / notices, and send commands, each retried with the same cid until
// the server acknowledges it.
//
// How it ends (PROTOCOL.md, "The end of a connection"): a `notice` whose code
// is final (superseded, token_revoked, token_expired, session_deleted), then
// the server's DISCONNECT ("io server disconnect"), stops the connection for
// good: it never reconnects by itself (two devices of one seat would take it
// from each other in a loop). `resume()` takes the seat back on this device
// when the person asks for it. `slow_consumer` is not final: socket.io-client
// reconnects by itself and the join resumes from the last seq.
//
// No command is ever dropped silently: while the connection is down, commands
// wait and go out after the next join; when it stops for good, every command
// still waiting is answered with a local refusal, `connection_ended`. The
// time-out has a lane of its own, so it never waits behind another command.

import { io, Socket } from "socket.io-client";
import * as msgpackParser from "socket.io-msgpack-parser";
import { randomId } from "./dom";
import {
  Ack,
  BatchState,
  CONNECTION_ENDED,
  EventBatch,
  FATAL_CONNECT_CODES,
  FINAL_NOTICE_CODES,
  Notice,
  PresenceMessage,
  RETRY_CODES,
  Refused,
  Snapshot,
  WireEvent,
} from "./protocol";

export type Status = "connecting" | "live" | "reconnecting" | "stopped";

export interface Handlers {
  snapshot(s: Snapshot): void;
  /** New events (possibly none), and the seat's state after them. */
  events(events: WireEvent[], state: BatchState | undefined): void;
  presence(p: PresenceMessage): void;
  refused(r: Refused): void;
  /** `code` is set with "stopped" (why it stopped) and may be with "reconnecting" (why it failed). */
  status(status: Status, message?: string, code?: string): void;
}

/** One line of commands, sent one at a time, in order. */
interface Lane {
  queue: Pending[];
  pumping: boolean;
}

/** The safe signal never waits behind another command: if one goes unanswered
 * (a lost ack, a slow write), a time-out still goes out at once, in a lane of
 * its own. (The server decides in arrival order; a time-out that overtakes a
 * statement pauses it, as a time-out should.) */
const URGENT: ReadonlySet<string> = new Set(["timeout.call", "timeout.start"]);

interface Pending {
  command: Record<string, unknown>;
  resolve: (ack: Ack) => void;
  /** Emitted at least once: the server may have decided it without our hearing. */
  emitted?: boolean;
}

/** Why a connection stopped when nobody said why: the page closed it, or the
 * server disconnected it without a notice (PROTOCOL.md: ended for good). */
export const CLOSED = "closed";
export const SERVER_DISCONNECT = "server_disconnect";
/** The code of status "connecting" after `resume()` (taking the seat back). */
export const RESUME = "resume";

const ACK_TIMEOUT_MS = 10_000;
const RETRY_DELAY_MS = 1_000;
const BACKOFF_MIN_MS = 1_500;
const BACKOFF_MAX_MS = 15_000;

export class Connection {
  private readonly socket: Socket;
  private lastSeq: number | undefined;
  private epoch: string | undefined;
  private joined = false;
  private stopped = false;
  private stopCode_: string | null = null;
  private notice: Notice | null = null;
  private readonly lanes: { normal: Lane; urgent: Lane } = {
    normal: { queue: [], pumping: false },
    urgent: { queue: [], pumping: false },
  };
  /** Ends the wait for the acks of commands in flight (when the connection drops). */
  private readonly inFlight = new Set<() => void>();
  private readonly cidPrefix = randomId(6);
  private cidCounter = 0;
  private retryTimer: number | undefined;
  private retries = 0;

  constructor(
    url: string,
    token: string,
    private readonly on: Handlers,
  ) {
    this.socket = io(url, {
      transports: ["websocket"],
      parser: msgpackParser,
      auth: { token },
      autoConnect: false,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3_000,
      timeout: 10_000,
    });
    const s = this.socket;
    s.on("connect", () => {
      this.notice = null; // a notice belongs to the connection it came on
      // The safe signal does not wait for the join: the server takes it as
      // soon as the connection is up (its ack comes after the history).
      void this.pump(this.lanes.urgent);
      void this.join();
    });
    s.on("snapshot", (snap: Snapshot) => {
      this.epoch = snap.epoch;
      if (snap.reset) this.lastSeq = undefined;
      this.on.snapshot(snap);
    });
    // A join may be answered by several batches before its ack (a long
    // history is streamed a page at a time); they come in seq order. Each
    // carries the seat's state after it, also one with no new event (a join
    // with nothing missed).
    s.on("events", (batch: EventBatch) => {
      const fresh = batch.events.filter((e) => this.lastSeq === undefined || e.seq > this.lastSeq);
      if (fresh.length > 0) this.lastSeq = fresh[fresh.length - 1]!.seq;
      if (fresh.length === 0 && !batch.state) return;
      this.on.events(fresh, batch.state);
    });
    s.on("presence", (p: PresenceMessage) => this.on.presence(p));
    s.on("refused", (r: Refused) => this.on.refused(r));
    s.on("notice", (n: Notice) => {
      // Comes just before the server ends this connection.
      this.notice = n;
    });
    s.on("disconnect", (reason) => {
      this.joined = false;
      this.abortAll();
      this.dropBuffered();
      if (this.stopped) return;
      const notice = this.notice;
      this.notice = null;
      if (notice && FINAL_NOTICE_CODES.has(notice.code)) {
        this.stop(notice.message, notice.code);
        return;
      }
      if (reason === "io server disconnect") {
        if (notice) {
          // A notice that is not final (slow_consumer): come back and resume.
          this.on.status("reconnecting");
          this.retryLater();
        } else {
          // Ended for good without a word (PROTOCOL.md): do not come back by
          // ourselves; the page offers to connect again.
          this.stop("The server closed this connection.", SERVER_DISCONNECT);
        }
        return;
      }
      // A network loss, a server restart, slow_consumer: socket.io-client
      // reconnects by itself and the join resumes from the last seq.
      this.on.status("reconnecting");
    });
    s.on("connect_error", (err: Error & { data?: { code?: string; message?: string } }) => {
      if (this.stopped) return;
      const code = err.data?.code;
      const message = err.data?.message || err.message;
      if (code && FATAL_CONNECT_CODES.has(code)) {
        this.stop(message, code);
        return;
      }
      // e.g. too_many_connections or unavailable: say why, try again later.
      this.on.status("reconnecting", code ? message : undefined, code);
      if (!this.socket.active) this.retryLater(); // refused by the server: no auto-reconnect
    });
  }

  start(): void {
    this.on.status("connecting");
    this.socket.connect();
  }

  /** End the connection for good; every command still waiting is answered `connection_ended`. */
  stop(message?: string, code: string = CLOSED): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopCode_ = code;
    this.joined = false;
    window.clearTimeout(this.retryTimer);
    this.abortAll();
    this.socket.disconnect();
    this.failPending();
    this.on.status("stopped", message, code);
  }

  /**
   * Connect again after a stop (for "Use this device" after `superseded`):
   * the join takes the seat back, which supersedes the other connection.
   * Whatever is queued then goes out after the join.
   */
  resume(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopCode_ = null;
    this.notice = null;
    this.retries = 0;
    window.clearTimeout(this.retryTimer);
    this.on.status("connecting", undefined, RESUME);
    this.socket.connect();
  }

  get isLive(): boolean {
    return this.joined;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Why the connection stopped (a notice or connect_error code, `closed`…); null while it runs. */
  get stopCode(): string | null {
    return this.stopCode_;
  }

  /** Send a command; resolves with the server's answer (retrying transient failures). */
  send(type: string, fields: Record<string, unknown> = {}): Promise<Ack> {
    this.cidCounter += 1;
    const command = { cid: `${this.cidPrefix}-${this.cidCounter}`, type, ...fields };
    if (this.stopped) return Promise.resolve(ended());
    const lane = URGENT.has(type) ? this.lanes.urgent : this.lanes.normal;
    return new Promise((resolve) => {
      lane.queue.push({ command, resolve });
      void this.pump(lane);
    });
  }

  /** Commands sent but not yet acknowledged. */
  get pending(): number {
    return this.lanes.normal.queue.length + this.lanes.urgent.queue.length;
  }

  private failPending(): void {
    for (const lane of [this.lanes.urgent, this.lanes.normal]) {
      const waiting = lane.queue.splice(0);
      for (const item of waiting) item.resolve(ended(item.emitted));
    }
  }

  private abortAll(): void {
    for (const abort of Array.from(this.inFlight)) abort();
  }

  private pumpAll(): void {
    void this.pump(this.lanes.urgent);
    void this.pump(this.lanes.normal);
  }

  /** Connect again after a refusal, later each time (1.5 s, 3 s, 6 s… up to 15 s). */
  private retryLater(): void {
    window.clearTimeout(this.retryTimer);
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.retries, 4));
    this.retries += 1;
    this.retryTimer = window.setTimeout(() => {
      if (!this.stopped && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  private dropBuffered(): void {
    // Socket.IO buffers emits made while offline; we resend ourselves after `join`.
    (this.socket as unknown as { sendBuffer: unknown[] }).sendBuffer = [];
  }

  private async join(): Promise<void> {
    const payload = this.lastSeq === undefined ? {} : { last_seq: this.lastSeq, epoch: this.epoch };
    let ack: Ack;
    try {
      ack = (await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck("join", payload)) as Ack;
    } catch {
      if (this.socket.connected && !this.stopped) {
        this.socket.disconnect();
        this.socket.connect();
      }
      return;
    }
    if (this.stopped) return;
    if (!ack.ok) {
      const notice = this.notice;
      if (notice && FINAL_NOTICE_CODES.has(notice.code)) {
        // Overtaken while it waited (`not_joined`): the notice says why; the
        // server's disconnect follows. Never join again by ourselves.
        this.stop(notice.message, notice.code);
      } else if (FINAL_NOTICE_CODES.has(ack.error.code)) {
        this.stop(ack.error.message, ack.error.code); // e.g. token_expired
      } else if (RETRY_CODES.has(ack.error.code)) {
        this.socket.disconnect();
        this.retryLater();
        this.on.status("reconnecting");
      } else {
        this.stop(ack.error.message, ack.error.code);
      }
      return;
    }
    this.joined = true;
    this.retries = 0;
    this.on.status("live");
    this.pumpAll();
  }

  private emitOnce(command: Record<string, unknown>): Promise<Ack | null> {
    return new Promise((resolve) => {
      let done = false;
      const abort = () => finish(null);
      const finish = (ack: Ack | null) => {
        if (done) return;
        done = true;
        window.clearTimeout(timer);
        this.inFlight.delete(abort);
        resolve(ack);
      };
      const timer = window.setTimeout(abort, ACK_TIMEOUT_MS);
      this.inFlight.add(abort);
      this.socket.emit("command", command, (ack: Ack) => finish(ack));
    });
  }

  /** Send a lane's commands one at a time, in order: the urgent lane (the
   * time-out) while connected, the other while joined. */
  private async pump(lane: Lane): Promise<void> {
    if (lane.pumping) return;
    lane.pumping = true;
    const open = () => (lane === this.lanes.urgent ? this.socket.connected : this.joined);
    try {
      while (lane.queue.length > 0 && open() && !this.stopped) {
        const item = lane.queue[0]!;
        item.emitted = true;
        const ack = await this.emitOnce(item.command);
        if (lane.queue[0] !== item) continue; // answered meanwhile (the connection stopped)
        if (ack === null) continue; // no answer: same cid again once joined
        if (!ack.ok && RETRY_CODES.has(ack.error.code)) {
          await new Promise((r) => window.setTimeout(r, RETRY_DELAY_MS));
          continue;
        }
        lane.queue.shift();
        item.resolve(ack);
      }
    } finally {
      lane.pumping = false;
    }
  }
}

/** The message of `connection_ended` for a command that never went out. */
export const NOT_SENT = "Not sent: this device is no longer connected to the session.";
/** … and for one that went out, but was not answered before the end. */
export const NOT_CONFIRMED = "Not confirmed: this device was disconnected from the session before it answered.";

function ended(emitted = false): Ack {
  return { ok: false, error: { code: CONNECTION_ENDED, message: emitted ? NOT_CONFIRMED : NOT_SENT } };
}
