// The page's state: the seat's view of the session as the server last sent it
// (the snapshot's, then each batch's: PROTOCOL.md, "What a seat may do now"),
// the transcript (every event this seat was sent, for display only), presence,
// refusals and connection status. Views subscribe and re-render from it.
//
// Nothing here decides: what the seat may do now, which of it needs a reason,
// how to fill it in and what to tell the person all come from the server with
// every batch. The page keeps no copy of any rule (DESIGN.md, "Permissions
// come from the server").

import { Connection, Status } from "./connection";
import {
  BatchState,
  Hints,
  Partner,
  PresenceMessage,
  PresenceStatus,
  Prompt,
  Refused,
  Role,
  Seat,
  SessionState,
  Snapshot,
  WireEvent,
} from "./protocol";

/** What the server says this seat is, may do and should be told now. */
export interface SeatView {
  readonly state: SessionState;
  readonly role: Role;
  /** The command types the server would accept now: enable exactly these. */
  readonly may: ReadonlySet<string>;
  /** Those of `may` that need a non-empty reason now. */
  readonly overrides: ReadonlySet<string>;
  readonly hints: Hints;
  readonly prompt: Prompt;
}

function viewOf(state: SessionState): SeatView {
  return {
    state,
    role: state.role,
    may: new Set(state.may ?? []),
    overrides: new Set(state.overrides ?? []),
    hints: state.hints ?? {},
    prompt: state.prompt ?? { role: state.role, stage: "", text: "" },
  };
}

export class Store {
  session = "";
  title = "";
  seat: Seat | null = null;
  /** The seat's view as last received; null before the first snapshot. */
  view: SeatView | null = null;
  transcript: WireEvent[] = [];
  presence: Partial<Record<Seat, PresenceStatus>> = {};
  /** Mediator only: partners' refused commands by code (not part of the record). */
  refusals: Partial<Record<Partner, Record<string, number>>> = {};
  status: Status = "connecting";
  statusMessage = "";
  /** Why the connection stopped (status "stopped"): a notice or connect_error code,
   * e.g. `superseded`, `token_revoked`, `token_expired`; or why it is retrying
   * (status "reconnecting"), e.g. `too_many_connections`. */
  statusCode = "";
  /** Server clock minus ours, in seconds, estimated from live events. */
  clockOffset = 0;
  /** Set when a snapshot arrives, so views can refresh derived things. */
  generation = 0;
  /** The snapshot's seq: events up to it are history (their `at` is not now). */
  private snapshotSeq = 0;
  private readonly listeners: Array<(store: Store) => void> = [];
  readonly connection: Connection;

  constructor(url: string, token: string) {
    this.connection = new Connection(url, token, {
      snapshot: (s) => this.onSnapshot(s),
      events: (events, state) => this.onEvents(events, state),
      presence: (p) => this.onPresence(p),
      refused: (r) => this.onRefused(r),
      status: (status, message, code) => this.onStatus(status, message, code),
    });
  }

  /** The session state as last received (the snapshot's playbook kept). */
  get state(): SessionState | null {
    return this.view?.state ?? null;
  }

  start(): void {
    this.connection.start();
  }

  stop(): void {
    this.connection.stop();
  }

  /** Take the seat back on this device after it was opened elsewhere ("Use this device"). */
  resume(): void {
    this.connection.resume();
  }

  /** Taking the seat back on this device ("Use this device"), not joined yet. */
  get resuming(): boolean {
    return this.status === "connecting" && this.statusCode === "resume";
  }

  /** Not connected, and trying again: what is sent now waits for the connection. */
  get offline(): boolean {
    return this.status === "reconnecting" || this.resuming;
  }

  /** The code the connection stopped with, or null while it runs. */
  get stopCode(): string | null {
    return this.status === "stopped" ? this.statusCode || "closed" : null;
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
    for (const listener of this.listeners) listener(this);
  }

  private onSnapshot(s: Snapshot): void {
    if (s.reset || s.session !== this.session) this.transcript = [];
    this.session = s.session;
    this.title = s.title;
    this.seat = s.seat;
    this.view = viewOf(s.state);
    this.snapshotSeq = s.seq;
    this.presence = { ...s.presence, [s.seat]: "joined" };
    this.refusals = s.refusals ?? {};
    if (typeof s.now === "number") this.clockOffset = s.now - Date.now() / 1000;
    this.generation += 1;
    this.changed();
  }

  private onEvents(events: WireEvent[], state: BatchState | undefined): void {
    const last = this.transcript.length ? this.transcript[this.transcript.length - 1]!.seq : 0;
    for (const e of events) {
      if (e.seq > last) this.transcript.push(e);
      if (e.seq > this.snapshotSeq) this.clockOffset = e.at - Date.now() / 1000;
    }
    // The batch's state replaces ours; the playbook does not change.
    const playbook = this.view?.state.playbook;
    if (state && playbook) this.view = viewOf({ ...state, playbook });
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

  private onStatus(status: Status, message?: string, code?: string): void {
    this.status = status;
    this.statusMessage = message ?? "";
    this.statusCode = code ?? "";
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
