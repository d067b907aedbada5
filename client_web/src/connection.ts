// One seat's live connection (PROTOCOL.md): connect with the invite token,
// join (resuming from the last seq and epoch), receive snapshot / events /
// presence / notices, and send commands, each retried with the same cid until
// the server acknowledges it.

import { io, Socket } from "socket.io-client";
import * as msgpackParser from "socket.io-msgpack-parser";
import { randomId } from "./dom";
import {
  Ack,
  EventBatch,
  FATAL_CONNECT_CODES,
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
  events(events: WireEvent[]): void;
  presence(p: PresenceMessage): void;
  refused(r: Refused): void;
  status(status: Status, message?: string): void;
}

interface Pending {
  command: Record<string, unknown>;
  resolve: (ack: Ack) => void;
}

const ACK_TIMEOUT_MS = 10_000;
const RETRY_DELAY_MS = 1_000;

export class Connection {
  private readonly socket: Socket;
  private lastSeq: number | undefined;
  private epoch: string | undefined;
  private joined = false;
  private stopped = false;
  private notice: Notice | null = null;
  private readonly queue: Pending[] = [];
  private pumping = false;
  private abortInFlight: (() => void) | null = null;
  private readonly cidPrefix = randomId(6);
  private cidCounter = 0;
  private retryTimer: number | undefined;

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
    s.on("connect", () => void this.join());
    s.on("snapshot", (snap: Snapshot) => {
      this.epoch = snap.epoch;
      if (snap.reset) this.lastSeq = undefined;
      this.on.snapshot(snap);
    });
    s.on("events", (batch: EventBatch) => {
      const fresh = batch.events.filter((e) => this.lastSeq === undefined || e.seq > this.lastSeq);
      if (fresh.length === 0) return;
      this.lastSeq = fresh[fresh.length - 1]!.seq;
      this.on.events(fresh);
    });
    s.on("presence", (p: PresenceMessage) => this.on.presence(p));
    s.on("refused", (r: Refused) => this.on.refused(r));
    s.on("notice", (n: Notice) => {
      // Superseded or revoked: the server disconnects us next; do not come back.
      this.notice = n;
    });
    s.on("disconnect", (reason) => {
      this.joined = false;
      this.abortInFlight?.();
      this.dropBuffered();
      if (this.stopped) return;
      if (this.notice) {
        this.stop(this.notice.message);
        return;
      }
      this.on.status("reconnecting");
      if (reason === "io server disconnect") this.retryLater();
    });
    s.on("connect_error", (err: Error & { data?: { code?: string; message?: string } }) => {
      const code = err.data?.code;
      if (code && FATAL_CONNECT_CODES.has(code)) {
        this.stop(err.data?.message || err.message);
        return;
      }
      this.on.status("reconnecting");
      if (!this.socket.active) this.retryLater(); // refused by the server (e.g. `unavailable`)
    });
  }

  start(): void {
    this.on.status("connecting");
    this.socket.connect();
  }

  stop(message?: string): void {
    if (this.stopped) return;
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    this.socket.disconnect();
    this.on.status("stopped", message);
  }

  get isLive(): boolean {
    return this.joined;
  }

  /** Send a command; resolves with the server's answer (retrying transient failures). */
  send(type: string, fields: Record<string, unknown> = {}): Promise<Ack> {
    this.cidCounter += 1;
    const command = { cid: `${this.cidPrefix}-${this.cidCounter}`, type, ...fields };
    return new Promise((resolve) => {
      this.queue.push({ command, resolve });
      void this.pump();
    });
  }

  /** Commands sent but not yet acknowledged. */
  get pending(): number {
    return this.queue.length;
  }

  private retryLater(): void {
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => {
      if (!this.stopped && !this.socket.connected) this.socket.connect();
    }, 1_500);
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
      if (this.socket.connected) {
        this.socket.disconnect();
        this.socket.connect();
      }
      return;
    }
    if (!ack.ok) {
      if (RETRY_CODES.has(ack.error.code)) {
        this.socket.disconnect();
        this.retryLater();
        this.on.status("reconnecting");
      } else {
        this.stop(ack.error.message);
      }
      return;
    }
    this.joined = true;
    this.on.status("live");
    void this.pump();
  }

  private emitOnce(command: Record<string, unknown>): Promise<Ack | null> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (ack: Ack | null) => {
        if (done) return;
        done = true;
        window.clearTimeout(timer);
        this.abortInFlight = null;
        resolve(ack);
      };
      const timer = window.setTimeout(() => finish(null), ACK_TIMEOUT_MS);
      this.abortInFlight = () => finish(null);
      this.socket.emit("command", command, (ack: Ack) => finish(ack));
    });
  }

  /** Send queued commands one at a time, in order, while joined. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.joined && !this.stopped) {
        const item = this.queue[0]!;
        const ack = await this.emitOnce(item.command);
        if (ack === null) continue; // no answer: same cid again once joined
        if (!ack.ok && RETRY_CODES.has(ack.error.code)) {
          await new Promise((r) => window.setTimeout(r, RETRY_DELAY_MS));
          continue;
        }
        this.queue.shift();
        item.resolve(ack);
      }
    } finally {
      this.pumping = false;
    }
  }
}
