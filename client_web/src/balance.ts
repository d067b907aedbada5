// The balance of talk, from what is in the log (DESIGN.md: the balance
// monitor). Partners' refused commands are not in the log; the server counts
// them live for the mediator (`refused` messages, snapshot `refusals`).

import { wordCount } from "./dom";
import { Partner, WireEvent, isPartner, str } from "./protocol";

/** Partner A and B in charts and tables (both AA on white, told apart without colour too). */
export const COLOURS = { partner_a: "#1f4e9e", partner_b: "#9a4a00" };

export interface PartnerBalance {
  statements: number;
  words: number;
  /** Paraphrase attempts this partner made as the listener. */
  attempts: number;
  /** Statements of the other partner that this partner paraphrased until confirmed (or waived). */
  mirrored: number;
  /** "Not quite" corrections this partner gave as the speaker. */
  corrections: number;
  /** Time-outs this partner called (and signals given again during one). */
  timeouts: number;
  signals: number;
}

export type Balance = Record<Partner, PartnerBalance> & { mediatorTimeouts: number; scheduledTimeouts: number };

function empty(): PartnerBalance {
  return { statements: 0, words: 0, attempts: 0, mirrored: 0, corrections: 0, timeouts: 0, signals: 0 };
}

export function balanceOf(events: readonly WireEvent[]): Balance {
  const b: Balance = { partner_a: empty(), partner_b: empty(), mediatorTimeouts: 0, scheduledTimeouts: 0 };
  const speakerOf = new Map<number, Partner>();
  for (const e of events) {
    const seat = str(e, "seat");
    switch (e.type) {
      case "statement.made":
        if (isPartner(seat)) {
          b[seat].statements += 1;
          b[seat].words += wordCount(str(e, "text"));
          speakerOf.set(Number(e["statement"]), seat);
        }
        break;
      case "paraphrase.offered":
        if (isPartner(seat)) b[seat].attempts += 1;
        break;
      case "paraphrase.confirmed":
      case "paraphrase.waived": {
        const speaker = isPartner(seat) ? seat : speakerOf.get(Number(e["statement"]));
        if (speaker) b[speaker === "partner_a" ? "partner_b" : "partner_a"].mirrored += 1;
        break;
      }
      case "paraphrase.corrected":
        if (isPartner(seat)) b[seat].corrections += 1;
        break;
      case "timeout.started": {
        const by = str(e, "by");
        if (isPartner(by)) b[by].timeouts += 1;
        else if (by === "mediator") b.mediatorTimeouts += 1;
        else b.scheduledTimeouts += 1;
        break;
      }
      case "timeout.signalled": {
        const by = str(e, "by");
        if (isPartner(by)) b[by].signals += 1;
        break;
      }
      default:
        break;
    }
  }
  return b;
}

/** a's share of a + b, in percent (50/50 when both are zero). */
export function share(a: number, b: number): [number, number] {
  const total = a + b;
  if (total === 0) return [0, 0];
  const pa = Math.round((a / total) * 1000) / 10;
  return [pa, Math.round((100 - pa) * 10) / 10];
}
