// The page's state: the session as of the last snapshot plus the events since,
// the transcript (every event this seat was sent), presence and connection
// status. Views subscribe and re-render from it.

import { Connection, Status } from "./connection";
import { Role, evolve, mayFor, roleOf } from "./model";
import { Partner, PresenceMessage, PresenceStatus, Refused, Seat, SessionState, Snapshot, WireEvent } from "./protocol";

export class Store {
  session = "";
  title = "";
  seat: Seat | null = null;
  state: SessionState | null = null;
  role: Role = "partner";
  may: Set<string> = new Set();
  transcript: WireEvent[] = [];
  presence: Partial<Record<Seat, PresenceStatus>> = {};
  /** Mediator only: partners' refused commands by code (not part of the record). */
  refusals: Partial<Record<Partner, Record<string, number>>> = {};
  status: Status = "connecting";
  statusMessage = "";
  /** Server clock minus ours, in seconds, estimated from live events. */
  clockOffset = 0;
  /** Set when a snapshot arrives, so views can refresh derived things. */
  generation = 0;
  private snapshotSeq = 0;
  private readonly listeners: Array<(store: Store) => void> = [];
  readonly connection: Connection;

  constructor(url: string, token: string) {
    this.connection = new Connection(url, token, {
      snapshot: (s) => this.onSnapshot(s),
      events: (events) => this.onEvents(events),
      presence: (p) => this.onPresence(p),
      refused: (r) => this.onRefused(r),
      status: (status, message) => this.onStatus(status, message),
    });
  }

  start(): void {
    this.connection.start();
  }

  stop(): void {
    this.connection.stop();
  }

  subscribe(listener: (store: Store) => void): void {
    this.listeners.push(listener);
  }

  /** Server time now (unix seconds). */
  now(): number {
    return Date.now() / 1000 + this.clockOffset;
  }

  send(type: string, fields: Record<string, unknown> = {}) {
    return this.connection.send(type, fields);
  }

  private changed(): void {
    if (this.state && this.seat) {
      this.role = roleOf(this.state, this.seat);
      this.may = mayFor(this.state, this.seat);
    }
    for (const listener of this.listeners) listener(this);
  }

  private onSnapshot(s: Snapshot): void {
    if (s.reset || s.session !== this.session) this.transcript = [];
    this.session = s.session;
    this.title = s.title;
    this.seat = s.seat;
    this.state = s.state;
    this.snapshotSeq = s.seq;
    this.presence = { ...s.presence, [s.seat]: "joined" };
    this.refusals = s.refusals ?? {};
    if (typeof s.now === "number") this.clockOffset = s.now - Date.now() / 1000;
    this.generation += 1;
    this.changed();
  }

  private onEvents(events: WireEvent[]): void {
    const last = this.transcript.length ? this.transcript[this.transcript.length - 1]!.seq : 0;
    for (const e of events) {
      if (e.seq > last) this.transcript.push(e);
      // The snapshot already holds everything up to its seq.
      if (e.seq > this.snapshotSeq && this.state) {
        this.state = evolve(this.state, e);
        this.snapshotSeq = e.seq;
        this.clockOffset = e.at - Date.now() / 1000;
      }
    }
    this.changed();
  }

  private onPresence(p: PresenceMessage): void {
    this.presence = { ...this.presence, [p.seat]: p.status };
    this.changed();
  }

  private onRefused(r: Refused): void {
    const counts = (this.refusals[r.seat] ??= {});
    counts[r.code] = (counts[r.code] ?? 0) + 1;
    this.changed();
  }

  private onStatus(status: Status, message?: string): void {
    this.status = status;
    this.statusMessage = message ?? "";
    this.changed();
  }

  /** The latest event of a type (optionally for the current statement). */
  latest(type: string, statement?: number): WireEvent | undefined {
    for (let i = this.transcript.length - 1; i >= 0; i -= 1) {
      const e = this.transcript[i]!;
      if (e.type === type && (statement === undefined || e["statement"] === statement)) return e;
    }
    return undefined;
  }
}
