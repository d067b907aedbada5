// Words for people: seat names and one line per event for the transcripts.

import { Actor, Names, Partner, Seat, WireEvent, num, seats, str } from "./protocol";

export type Namer = (seat: Actor | string) => string;
/** Where a namer finds the partners' display names now (the session's state). */
export type NamesNow = () => Partial<Names> | null | undefined;

const SEAT_WORDS: Record<Partner, string> = { partner_a: "Partner A", partner_b: "Partner B" };
const NO_NAMES: NamesNow = () => null;

/** A partner's display name, else "Partner A" / "Partner B" (not named yet). */
export function partnerName(seat: Partner, names: Partial<Names> | null | undefined): string {
  return names?.[seat] || SEAT_WORDS[seat];
}

/** Names as the mediator sees them: the partners' display names where the
 * session has them (a session of a case), else "Partner A" / "Partner B". */
export function consoleNamer(names: NamesNow = NO_NAMES): Namer {
  return (seat) => {
    switch (seat) {
      case "partner_a":
      case "partner_b":
        return partnerName(seat, names());
      case "mediator":
        return "Mediator";
      case "system":
        return "Accord";
      default:
        return String(seat);
    }
  };
}

/** The console's names where no session is at hand. */
export const consoleNames: Namer = consoleNamer();

/** Names as a partner sees them: "You", the other partner's display name
 * (else "Your partner"), "The mediator". */
export function partnerNames(me: Seat, names: NamesNow = NO_NAMES): Namer {
  return (seat) => {
    if (seat === me) return "You";
    if (seat === "partner_a" || seat === "partner_b") return names()?.[seat] || "Your partner";
    if (seat === "mediator") return "The mediator";
    if (seat === "system") return "Accord";
    return String(seat);
  };
}

export const STEP_NAMES: Record<string, string> = {
  summary: "Summary",
  validation: "Validation",
  empathy: "Empathy",
};

export const STEP_HELP: Record<string, string> = {
  summary: "Sum up everything your partner said in this turn.",
  validation: "Say what makes sense about it: “That makes sense, because…”",
  empathy: "Imagine how they feel: “I imagine you might feel…”",
};

/** A name inside a sentence: "You" → "you", "Your partner" → "your partner". */
function lower(name: string): string {
  return name === "You" || name === "Your partner" || name === "The mediator" ? name.toLowerCase() : name;
}

export interface Line {
  who: string;
  text: string;
  kind: string; // for styling: statement, paraphrase, private, system…
  quote?: string;
}

/** One transcript line for an event; `null` for pure bookkeeping. */
export function describe(e: WireEvent, name: Namer): Line | null {
  const who = name(e.actor);
  const seat = name(str(e, "seat"));
  const by = name(str(e, "by"));
  switch (e.type) {
    case "partner.admitted":
      return { who: name("mediator"), text: `let ${lower(seat)} in`, kind: "system" };
    case "phase.started":
      return { who: "Accord", text: `Phase: ${str(e, "title")}`, kind: "phase" };
    case "phase.ended":
      return str(e, "reason")
        ? { who, text: `ended the phase early — reason: ${str(e, "reason")}`, kind: "override" }
        : null;
    case "session.ended":
      return {
        who: by,
        text: str(e, "reason") ? `ended the session — reason: ${str(e, "reason")}` : "The session ended",
        kind: "phase",
      };
    case "floor.requested":
      return { who: seat, text: "asked for the floor", kind: "floor" };
    case "floor.withdrawn":
      return { who: seat, text: "withdrew the request for the floor", kind: "floor" };
    case "floor.granted": {
      const reason = str(e, "reason");
      return {
        who: by,
        text: `gave the floor to ${lower(seat)}${reason ? ` — reason: ${reason}` : ""}`,
        kind: reason ? "override" : "floor",
      };
    }
    case "floor.revoked":
      return { who, text: `took the floor back from ${lower(seat)} — reason: ${str(e, "reason")}`, kind: "override" };
    case "floor.reordered":
      return {
        who,
        text: `reordered the queue: ${seats(e, "queue").map((s) => name(s)).join(", ") || "empty"} — reason: ${str(e, "reason")}`,
        kind: "override",
      };
    case "floor.yielded":
      return { who: seat, text: "yielded the floor", kind: "floor" };
    case "turn.ended":
      return null;
    case "statement.made":
      return { who: seat, text: "said", kind: "statement", quote: str(e, "text") };
    case "paraphrase.offered":
      return {
        who: seat,
        text: `paraphrased (attempt ${num(e, "attempt")})`,
        kind: "paraphrase",
        quote: str(e, "text"),
      };
    case "question.asked":
      return { who: seat, text: "asked", kind: "paraphrase", quote: str(e, "text") };
    case "question.answered":
      return { who: seat, text: "answered", kind: "statement", quote: str(e, "text") };
    case "paraphrase.confirmed":
      return { who: seat, text: `“That's it” (attempt ${num(e, "attempt")})`, kind: "confirm" };
    case "paraphrase.corrected":
      return {
        who: seat,
        text: `“Not quite” (attempt ${num(e, "attempt")})`,
        kind: "correct",
        quote: str(e, "note") || undefined,
      };
    case "paraphrase.waived":
      return { who, text: `waived the paraphrase — reason: ${str(e, "reason")}`, kind: "override" };
    case "reflection.offered":
      return {
        who: seat,
        text: STEP_NAMES[str(e, "step")] ?? str(e, "step"),
        kind: "paraphrase",
        quote: str(e, "text"),
      };
    case "timeout.started":
      return { who: by, text: "called a time-out", kind: "timeout" };
    case "timeout.reason":
      return { who: by, text: "private reason for the time-out", kind: "private", quote: str(e, "reason") };
    case "timeout.signalled":
      return { who: by, text: "gave the time-out signal again", kind: "timeout" };
    case "timeout.extended":
      return { who, text: "extended the time-out", kind: "timeout" };
    case "timeout.ended":
      return {
        who: by,
        text: by === "Accord" ? "The time-out is over" : `ended the time-out${str(e, "reason") ? ` — ${str(e, "reason")}` : ""}`,
        kind: "timeout",
      };
    case "timeout.scheduled": {
      const every = e["every_minutes"];
      return {
        who,
        text: `scheduled a ${num(e, "minutes")}-minute break${typeof every === "number" && every ? ` every ${every} minutes` : ""}`,
        kind: "timeout",
      };
    }
    case "timeout.unscheduled":
      return { who, text: "cancelled the scheduled break", kind: "timeout" };
    case "timer.fired":
      return null;
    case "debrief.started":
      return { who: "Accord", text: "Debrief", kind: "phase" };
    case "debrief.answered":
      return {
        who: seat,
        text: `debrief: ${num(e, "rating")}/10 (private)`,
        kind: "private",
        quote: str(e, "text") || undefined,
      };
    case "debrief.completed":
      return e["skipped"]
        ? { who, text: `skipped the debrief — reason: ${str(e, "reason")}`, kind: "override" }
        : { who: "Accord", text: "Debrief completed", kind: "system" };
    case "note.added":
      return { who: "Mediator", text: "private note", kind: "private", quote: str(e, "text") };
    case "names.changed": {
      // The first naming (from the case, by the system) is bookkeeping.
      const renamed = str(e, "seat");
      if (renamed !== "partner_a" && renamed !== "partner_b") return null;
      const names = e["names"] as Partial<Names> | undefined;
      return { who: by, text: `renamed ${SEAT_WORDS[renamed]}: “${names?.[renamed] ?? ""}”`, kind: "system" };
    }
    case "comfort.finished":
      return { who: seat, text: "finished the comfort scale", kind: "system" };
    case "measure.submitted":
      return { who: seat, text: "submitted the questionnaire", kind: "system" };
    case "measure.scored": {
      const band = str(e, "band");
      return {
        who: seat,
        text: `questionnaire score ${num(e, "score")} of ${num(e, "low")}–${num(e, "high")}${band ? ` (${band})` : ""} (private)`,
        kind: "private",
      };
    }
    default:
      return null;
  }
}
