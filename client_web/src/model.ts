// Keeping the snapshot's state current by applying events (PROTOCOL.md, "The
// state": clients may apply events themselves). A port of the server's evolve
// and of the `role`/`may` hints; the server stays the authority on every act.

import {
  Actor,
  DialoguePhase,
  DialogueSpec,
  Partner,
  Phase,
  PhaseSpec,
  Seat,
  SessionState,
  WireEvent,
  isPartner,
  num,
  otherPartner,
  seats,
  str,
  strings,
} from "./protocol";

function freshPhase(spec: PhaseSpec | undefined): Phase {
  if (!spec) return { kind: "ended" };
  if (spec.type === "lobby") return { kind: "lobby" };
  if (spec.type === "debrief") return { kind: "debrief", answered: [] };
  const d: DialoguePhase = {
    kind: "dialogue",
    speaker: null,
    stage: "idle",
    queue: [],
    statement: 0,
    statement_text: "",
    attempts: 0,
    spoke: false,
    step: 0,
    turns: 0,
  };
  if (spec.auto_round_robin) {
    d.speaker = spec.first_speaker;
    d.stage = "speaking";
  }
  return d;
}

export function currentSpec(state: SessionState): PhaseSpec | undefined {
  return state.playbook.phases[state.index];
}

export function dialogueSpec(state: SessionState): DialogueSpec | undefined {
  const spec = currentSpec(state);
  return spec && spec.type === "dialogue" ? spec : undefined;
}

function withDialogue(state: SessionState, change: Partial<DialoguePhase>): SessionState {
  if (state.phase.kind !== "dialogue") return state;
  return { ...state, phase: { ...state.phase, ...change } };
}

/** The state after one event (a total function: unknown events change nothing). */
export function evolve(state: SessionState, e: WireEvent): SessionState {
  const phase = state.phase;
  switch (e.type) {
    case "partner.admitted": {
      const seat = str(e, "seat");
      return isPartner(seat) ? { ...state, admitted: [...state.admitted, seat] } : state;
    }
    case "phase.started": {
      const index = num(e, "index");
      return { ...state, index, phase: freshPhase(state.playbook.phases[index]) };
    }
    case "session.ended":
      return {
        ...state,
        index: state.playbook.phases.length,
        phase: { kind: "ended" },
        overlay: null,
        timers: [],
        schedule: null,
        ended: true,
      };
    case "floor.requested":
    case "floor.withdrawn":
    case "floor.reordered":
      return withDialogue(state, { queue: seats(e, "queue") });
    case "floor.granted": {
      const seat = str(e, "seat");
      return withDialogue(state, {
        speaker: isPartner(seat) ? seat : null,
        stage: "speaking",
        queue: seats(e, "queue"),
        spoke: false,
        step: 0,
        attempts: 0,
      });
    }
    case "floor.revoked":
      return withDialogue(state, { speaker: null, stage: "idle", spoke: false, step: 0, attempts: 0 });
    case "floor.yielded": {
      if (phase.kind !== "dialogue") return state;
      const steps = dialogueSpec(state)?.listener_steps ?? [];
      const reflecting = phase.spoke && steps.length > 0;
      return withDialogue(state, { stage: reflecting ? "reflecting" : phase.stage, step: 0 });
    }
    case "turn.ended":
      return withDialogue(state, {
        speaker: null,
        stage: "idle",
        turns: num(e, "turn"),
        spoke: false,
        step: 0,
        attempts: 0,
      });
    case "statement.made": {
      const required = dialogueSpec(state)?.paraphrase_required ?? true;
      return {
        ...withDialogue(state, {
          statement: num(e, "statement"),
          statement_text: str(e, "text"),
          attempts: 0,
          spoke: true,
          stage: required ? "awaiting_paraphrase" : "confirmed",
        }),
        next_statement: num(e, "statement") + 1,
      };
    }
    case "paraphrase.offered":
      return withDialogue(state, { stage: "awaiting_confirmation", attempts: num(e, "attempt") });
    case "question.asked":
      return withDialogue(state, { stage: "awaiting_answer" });
    case "question.answered":
    case "paraphrase.corrected":
      return withDialogue(state, { stage: "awaiting_paraphrase" });
    case "paraphrase.confirmed":
      return withDialogue(state, { stage: "confirmed" });
    case "paraphrase.waived":
      if (phase.kind !== "dialogue") return state;
      return withDialogue(state, { stage: phase.stage === "reflecting" ? "reflecting" : "confirmed" });
    case "reflection.offered":
      if (phase.kind !== "dialogue") return state;
      return withDialogue(state, { step: phase.step + 1 });
    case "timeout.started": {
      const timer = str(e, "timer");
      const endsAt = num(e, "ends_at");
      const by = str(e, "by") as Actor;
      return {
        ...state,
        overlay: { kind: "time_out", timer, by, started_at: num(e, "started_at"), ends_at: endsAt },
        timers: [...state.timers, { id: timer, kind: "time_out_end", due: endsAt }],
      };
    }
    case "timeout.extended": {
      const overlay = state.overlay;
      const timer = str(e, "timer");
      const endsAt = num(e, "ends_at");
      return {
        ...state,
        overlay: overlay && overlay.kind === "time_out" ? { ...overlay, ends_at: endsAt } : overlay,
        timers: state.timers.map((t) => (t.id === timer ? { ...t, due: endsAt } : t)),
      };
    }
    case "timeout.ended": {
      const timer = str(e, "timer");
      return { ...state, overlay: null, timers: state.timers.filter((t) => t.id !== timer) };
    }
    case "timeout.scheduled": {
      const timer = str(e, "timer");
      const every = e["every_minutes"];
      return {
        ...state,
        schedule: {
          timer,
          every_minutes: typeof every === "number" ? every : null,
          minutes: num(e, "minutes"),
        },
        timers: [...state.timers, { id: timer, kind: "scheduled_time_out", due: num(e, "at") }],
      };
    }
    case "timeout.unscheduled": {
      const timer = str(e, "timer");
      return { ...state, schedule: null, timers: state.timers.filter((t) => t.id !== timer) };
    }
    case "timer.fired": {
      const timer = str(e, "timer");
      const schedule = state.schedule && state.schedule.timer === timer ? null : state.schedule;
      return { ...state, schedule, timers: state.timers.filter((t) => t.id !== timer) };
    }
    case "debrief.started":
      if (str(e, "after") === "time_out") {
        return { ...state, overlay: { kind: "debrief", prompts: strings(e, "prompts"), answered: [] } };
      }
      return state;
    case "debrief.answered": {
      const seat = str(e, "seat");
      if (!isPartner(seat)) return state;
      const overlay = state.overlay;
      if (overlay && overlay.kind === "debrief") {
        return { ...state, overlay: { ...overlay, answered: [...overlay.answered, seat] } };
      }
      if (phase.kind === "debrief") {
        return { ...state, phase: { ...phase, answered: [...phase.answered, seat] } };
      }
      return state;
    }
    case "debrief.completed":
      return str(e, "after") === "time_out" ? { ...state, overlay: null } : state;
    default:
      return state; // phase.ended, timeout.reason, timeout.signalled, note.added, and the unknown
  }
}

export type Role = SessionState["role"];

export function roleOf(state: SessionState, seat: Seat): Role {
  if (seat === "mediator") return "mediator";
  const phase = state.phase;
  if (phase.kind === "dialogue" && phase.speaker !== null) {
    return phase.speaker === seat ? "speaker" : "listener";
  }
  return "partner";
}

const MEDIATOR_COMMANDS = new Set([
  "admit",
  "phase.advance",
  "floor.grant",
  "floor.revoke",
  "floor.reorder",
  "paraphrase.waive",
  "timeout.start",
  "timeout.end",
  "timeout.extend",
  "timeout.schedule",
  "timeout.unschedule",
  "debrief.skip",
  "note",
  "session.end",
]);
const PARTNER_COMMANDS = new Set([
  "floor.request",
  "floor.withdraw",
  "yield",
  "statement",
  "paraphrase",
  "question",
  "answer",
  "paraphrase.confirm",
  "paraphrase.correct",
  "reflect",
  "timeout.call",
  "debrief.answer",
]);
const TIME_OUT_BUSINESS = new Set([
  "timeout.call",
  "session.end",
  "note",
  "timeout.schedule",
  "timeout.unschedule",
  "timeout.end",
  "timeout.extend",
]);
const PHASE_COMMANDS: Record<string, Set<string>> = {
  lobby: new Set(["admit", "phase.advance"]),
  dialogue: new Set([
    "phase.advance",
    "floor.request",
    "floor.withdraw",
    "floor.grant",
    "floor.revoke",
    "floor.reorder",
    "yield",
    "statement",
    "paraphrase",
    "question",
    "answer",
    "paraphrase.confirm",
    "paraphrase.correct",
    "paraphrase.waive",
    "reflect",
  ]),
  debrief: new Set(["phase.advance", "debrief.answer", "debrief.skip"]),
  ended: new Set(),
};
const STAGE_ACTS: Record<string, { speaker: string[]; listener: string[] }> = {
  idle: { speaker: [], listener: [] },
  speaking: { speaker: ["statement", "yield"], listener: ["floor.request", "floor.withdraw"] },
  awaiting_paraphrase: { speaker: [], listener: ["paraphrase", "question"] },
  awaiting_answer: { speaker: ["answer"], listener: [] },
  awaiting_confirmation: { speaker: ["paraphrase.confirm", "paraphrase.correct"], listener: [] },
  confirmed: { speaker: ["statement", "yield"], listener: ["floor.request", "floor.withdraw"] },
  reflecting: { speaker: [], listener: ["reflect"] },
};

/** The command types `seat` could send now: a hint for enabling controls. */
export function mayFor(state: SessionState, seat: Seat): Set<string> {
  const own = seat === "mediator" ? MEDIATOR_COMMANDS : PARTNER_COMMANDS;
  if (state.ended) return new Set(seat === "mediator" ? ["note"] : []);
  const keep = (allowed: Set<string>) => new Set([...own].filter((k) => allowed.has(k)));
  const overlay = state.overlay;
  if (overlay && overlay.kind === "time_out") {
    const allowed = new Set(TIME_OUT_BUSINESS);
    if (!state.schedule) allowed.delete("timeout.unschedule");
    return keep(allowed);
  }
  const always = new Set(["timeout.call", "timeout.start", "session.end", "note", "timeout.schedule"]);
  if (state.schedule) always.add("timeout.unschedule");
  if (overlay && overlay.kind === "debrief") {
    const allowed = new Set([...always, "debrief.skip"]);
    if (!(isPartner(seat) && overlay.answered.includes(seat))) allowed.add("debrief.answer");
    return keep(allowed);
  }
  const phase = state.phase;
  let allowed = new Set([...always, ...(PHASE_COMMANDS[phase.kind] ?? [])]);
  if (phase.kind === "dialogue" && isPartner(seat)) {
    const role = roleOf(state, seat);
    if (role === "partner") allowed = new Set([...always, "floor.request", "floor.withdraw"]);
    else allowed = new Set([...always, ...(STAGE_ACTS[phase.stage]?.[role as "speaker" | "listener"] ?? [])]);
    if (phase.queue.includes(seat)) allowed.delete("floor.request");
    else allowed.delete("floor.withdraw");
  }
  if (phase.kind === "debrief" && isPartner(seat) && phase.answered.includes(seat)) {
    allowed.delete("debrief.answer");
  }
  return keep(allowed);
}

/** The listener of the current turn, if someone holds the floor. */
export function listenerOf(state: SessionState): Partner | null {
  const phase = state.phase;
  return phase.kind === "dialogue" && phase.speaker ? otherPartner(phase.speaker) : null;
}
