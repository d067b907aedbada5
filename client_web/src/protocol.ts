// The wire contract (docs/PROTOCOL.md, version 3), as TypeScript types.
// Only what PROTOCOL.md promises is relied on; unknown fields are ignored.
// No rule lives here: what a seat may do now comes with every snapshot and
// batch (`may`, `overrides`, `hints`, `prompt`).

export const PROTOCOL_VERSION = 3;

export type Partner = "partner_a" | "partner_b";
export type Seat = "mediator" | Partner;
export type Actor = Seat | "system";
export const PARTNERS: readonly Partner[] = ["partner_a", "partner_b"];
export const SEATS: readonly Seat[] = ["mediator", "partner_a", "partner_b"];

export type Stage =
  | "idle"
  | "speaking"
  | "awaiting_paraphrase"
  | "awaiting_answer"
  | "awaiting_confirmation"
  | "confirmed"
  | "reflecting";

export type ListenerStep = "summary" | "validation" | "empathy";

export interface LobbySpec {
  type: "lobby";
  title: string;
}
export interface DialogueSpec {
  type: "dialogue";
  title: string;
  statement_max_chars: number;
  paraphrase_required: boolean;
  clarifying_questions: boolean;
  auto_round_robin: boolean;
  first_speaker: Partner;
  ends: "rounds" | "mediator";
  rounds: number;
  listener_steps: ListenerStep[];
}
export interface DebriefSpec {
  type: "debrief";
  title: string;
  prompts: string[];
}
export type PhaseSpec = LobbySpec | DialogueSpec | DebriefSpec;

export interface TimeOutSpec {
  default_minutes: number;
  min_minutes: number;
  max_minutes: number;
  every_minutes: number;
  debrief_prompts: string[];
}

export interface Playbook {
  name: string;
  title: string;
  description: string;
  phases: PhaseSpec[];
  time_out: TimeOutSpec;
}

/** Every phase type's state has a `kind`; the page knows some of them (a
 * view under phases/ each) and shows any other by its prompt alone. */
export interface LobbyPhase {
  kind: "lobby";
}
export interface DialoguePhase {
  kind: "dialogue";
  speaker: Partner | null;
  stage: Stage;
  queue: Partner[];
  statement: number;
  statement_text: string;
  attempts: number;
  spoke: boolean;
  step: number;
  turns: number;
}
export interface DebriefPhase {
  kind: "debrief";
  answered: Partner[];
}
export interface EndedPhase {
  kind: "ended";
}
export type Phase = LobbyPhase | DialoguePhase | DebriefPhase | EndedPhase;

export interface TimeOutOverlay {
  kind: "time_out";
  timer: string;
  by: Actor;
  started_at: number;
  ends_at: number;
}
export interface DebriefOverlay {
  kind: "debrief";
  prompts: string[];
  answered: Partner[];
}
export type Overlay = TimeOutOverlay | DebriefOverlay;

export interface Timer {
  id: string;
  kind: "time_out_end" | "scheduled_time_out";
  due: number;
}
export interface Schedule {
  timer: string;
  every_minutes: number | null;
  minutes: number;
}

/** `state.role`: "speaker"/"listener" while a partner holds the floor of a
 * dialogue, "partner" otherwise (PROTOCOL.md, "Who is who"). */
export type Role = "mediator" | "speaker" | "listener" | "partner";

/** What to tell the seat now (PROTOCOL.md, "What a seat may do now"): its
 * role, the stage (the overlay's while one stands, or "ended") and a headline. */
export interface Prompt {
  role: Role;
  stage: string;
  text: string;
}

/** For some types of `may`, what a client needs to fill the command in. */
/** The partners' display names, as the session holds them (a case's, renamed with `names.set`). */
export interface Names {
  partner_a: string;
  partner_b: string;
}

export interface Hints {
  /** The partners this seat may name (a partner: only itself), and the length limit. */
  "names.set"?: { seats: Partner[]; max_chars: number };
  statement?: { max_chars: number };
  reflect?: { step: string };
  /** The seats the floor may be granted to without a reason (the first in the queue). */
  "floor.grant"?: { free: Partner[] };
  /** The partners the mediator may still admit. */
  admit?: { seats: Partner[] };
  /** How much longer the running time-out may still be made. */
  "timeout.extend"?: { max_minutes: number };
  "debrief.answer"?: { prompts: string[] };
  [type: string]: Record<string, unknown> | undefined;
}

/** `snapshot.state`: the session as this seat may see it, and what it may do now. */
export interface SessionState {
  index: number;
  phase: Phase;
  overlay: Overlay | null;
  timers: Timer[];
  schedule: Schedule | null;
  admitted: Partner[];
  /** The partners' display names ("" until named: say "Partner A" / "Partner B"). */
  names?: Names;
  playbook: Playbook;
  ended: boolean;
  role: Role;
  /** The command types the server would accept from this seat now. */
  may: string[];
  /** Those of `may` that need a non-empty `reason` now (overrides). */
  overrides: string[];
  hints: Hints;
  prompt: Prompt;
  listener?: Partner;
  // Bookkeeping on the wire; the page does not need them.
  next_timer?: number;
  next_statement?: number;
  dialogue_started?: boolean;
}

/** A batch's `state`: the seat's view after its events, without the playbook. */
export type BatchState = Omit<SessionState, "playbook">;

export type PresenceStatus = "joined" | "reconnecting" | "left";

export interface Snapshot {
  protocol: number;
  session: string;
  title: string;
  seat: Seat;
  epoch: string;
  seq: number;
  reset: boolean;
  state: SessionState;
  presence: Partial<Record<Seat, PresenceStatus>>;
  /** The server's clock (unix seconds) when the snapshot was made. */
  now: number;
  /** Mediator only: partners' refused commands by code, since the session was loaded. */
  refusals?: Partial<Record<Partner, Record<string, number>>>;
}

/** Mediator only: a partner's command was refused (PROTOCOL.md, "refused"). */
export interface Refused {
  seat: Partner;
  type: string;
  code: string;
  at: number;
}

/** Every event has these; the rest depends on `type` (see PROTOCOL.md). */
export interface WireEvent {
  /** This seat's own count: its n-th event has seq n. Compare seqs of one seat only. */
  seq: number;
  at: number;
  actor: Actor;
  type: string;
  audience: Seat[];
  [field: string]: unknown;
}

export interface EventBatch {
  epoch: string;
  events: WireEvent[];
  /** The seat's view after these events (protocol 2). */
  state?: BatchState;
}

export interface PresenceMessage {
  seat: Seat;
  status: PresenceStatus;
  at: number;
}

export interface Notice {
  code: string;
  message: string;
}

export interface Refusal {
  code: string;
  message: string;
}

export type Ack = { ok: true; seq: number; epoch?: string } | { ok: false; error: Refusal };

/** Refusal codes after which the same command may be sent again (same cid). */
export const RETRY_CODES: ReadonlySet<string> = new Set([
  "unavailable",
  "conflict",
  "internal_error",
  "not_joined",
  "rate_limited",
]);

/** `notice` codes after which the server ends the connection for good: the
 * client must not reconnect by itself (docs/PROTOCOL.md, "The end of a
 * connection"). `slow_consumer` is not one of them: it reconnects and resumes. */
export const FINAL_NOTICE_CODES: ReadonlySet<string> = new Set([
  "superseded",
  "token_revoked",
  "token_expired",
  "session_deleted",
]);

/** The local refusal a command gets when its connection ended for good before
 * the server answered it (never sent on the wire). */
export const CONNECTION_ENDED = "connection_ended";

/** connect_error codes after which reconnecting cannot help. */
export const FATAL_CONNECT_CODES: ReadonlySet<string> = new Set([
  "token_missing",
  "token_invalid",
  "token_expired",
  "token_revoked",
  "session_not_found",
]);

// Field accessors for events: the wire is loosely typed, so read defensively.
export function str(e: WireEvent, key: string): string {
  const v = e[key];
  return typeof v === "string" ? v : "";
}
export function num(e: WireEvent, key: string): number {
  const v = e[key];
  return typeof v === "number" ? v : 0;
}
export function seats(e: WireEvent, key: string): Partner[] {
  const v = e[key];
  return Array.isArray(v) ? (v.filter((s) => s === "partner_a" || s === "partner_b") as Partner[]) : [];
}
export function strings(e: WireEvent, key: string): string[] {
  const v = e[key];
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

export function isPartner(s: unknown): s is Partner {
  return s === "partner_a" || s === "partner_b";
}

export function otherPartner(p: Partner): Partner {
  return p === "partner_a" ? "partner_b" : "partner_a";
}
