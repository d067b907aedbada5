// A questionnaire's view (a `measure` phase): each partner answers every
// item with one of its labelled choices and submits once, when `may` offers
// it; the partner learns only that they submitted. The mediator sees each
// partner's score and band, the gap between them, and the answers.
//
// The choices stay on the partner's device until Submit (nothing of a
// half-answered questionnaire is sent); the mediator's figures come from the
// `measure.scored` events, which only the mediator receives.

import { h, setText, show } from "../dom";
import { PARTNERS, Partner, WireEvent, isPartner } from "../protocol";
import type { SeatView, Store } from "../store";
import { enable } from "../widgets";
import { ChoiceGroup, fillTable, phaseEvents } from "./choices";
import { Headline, MediatorContext, MediatorPart, PartnerContext, PartnerPart, View, phaseOf } from "./view";

interface Item {
  id: string;
  text: string;
  /** The mediator's view only (a partner is not sent how items are scored). */
  reverse?: boolean;
  anchors: string[];
}

interface Definition {
  id: string;
  title: string;
  instructions: string;
  anchors: string[];
  start: number;
  items: Item[];
}

/** The phase's state on the wire (PROTOCOL.md, "The state"). */
interface MeasurePhase {
  kind: "measure";
  definition: Definition;
  submitted: Partner[];
}

/** A partner's `measure.scored` (mediator only). */
interface Scored {
  score: number;
  band: string;
  low: number;
  high: number;
  answers: Record<string, number>;
}

function measureOf(view: SeatView): MeasurePhase | null {
  return phaseOf<MeasurePhase>(view.state, "measure");
}

function scoredOf(e: WireEvent): Scored | null {
  const { score, band, low, high, answers } = e;
  if (typeof score !== "number" || typeof low !== "number" || typeof high !== "number") return null;
  return {
    score,
    band: typeof band === "string" ? band : "",
    low,
    high,
    answers: typeof answers === "object" && answers !== null ? (answers as Record<string, number>) : {},
  };
}

/** Each partner's score in this phase, as the mediator received it. */
export function scores(store: Store, index: number): Partial<Record<Partner, Scored>> {
  const found: Partial<Record<Partner, Scored>> = {};
  for (const e of phaseEvents(store, index)) {
    const seat = e["seat"];
    const scored = e.type === "measure.scored" && isPartner(seat) ? scoredOf(e) : null;
    if (scored && isPartner(seat)) found[seat] = scored;
  }
  return found;
}

function choicesOf(d: Definition, item: Item): Array<{ value: number; label: string }> {
  const labels = item.anchors.length ? item.anchors : d.anchors;
  return labels.map((label, i) => ({ value: d.start + i, label }));
}

function partner(ctx: PartnerContext): PartnerPart {
  const { act, isBusy } = ctx;
  const title = h("h2", { id: "measure-title" });
  const instructions = h("p", { class: "detail" });
  const who = h("p", { class: "privacy-note", "data-testid": "measure-privacy" });
  const progress = h("p", { class: "progress", "data-testid": "measure-progress", "aria-live": "polite" });
  const list = h("div", { class: "choice-groups" });
  const missing = h("p", { class: "form-note", role: "alert", hidden: true, "data-testid": "measure-missing" });
  const submit = h("button", { type: "button", class: "primary", "data-testid": "measure-submit", text: "Submit my answers" });
  const form = h("div", null, list, missing, submit);
  const el = h(
    "section",
    { class: "card measure-card", "aria-labelledby": "measure-title", "data-testid": "measure-panel" },
    title,
    instructions,
    who,
    progress,
    form,
  );
  let built = -1;
  let groups: ChoiceGroup[] = [];

  function build(phase: MeasurePhase, index: number): void {
    built = index;
    const d = phase.definition;
    groups = d.items.map((item) => new ChoiceGroup(item.id, item.text, choicesOf(d, item), () => ctx.rerender()));
    list.replaceChildren(...groups.map((g) => g.el));
  }

  submit.addEventListener("click", () => {
    const first = groups.find((g) => g.value === null);
    show(missing, first !== undefined);
    if (first) {
      setText(missing, "Please answer every question before you submit.");
      first.el.scrollIntoView({ block: "center" });
      first.focus();
      return;
    }
    const answers: Record<string, number> = {};
    for (const g of groups) answers[g.key] = g.value ?? 0;
    void act(submit, "measure.submit", { answers });
  });

  return {
    el,
    render(view): Headline {
      const phase = measureOf(view);
      if (!phase) return { head: view.prompt.text, more: "" };
      if (built !== view.state.index) build(phase, view.state.index);
      setText(title, phase.definition.title);
      setText(instructions, phase.definition.instructions);
      setText(who, view.prompt.text);
      const open = view.may.has("measure.submit");
      for (const g of groups) g.enable(open);
      const answered = groups.filter((g) => g.value !== null).length;
      setText(progress, open ? `${answered} of ${groups.length} answered` : "");
      show(form, open);
      show(submit, open);
      enable(submit, open, isBusy);
      if (!open || answered === groups.length) show(missing, false);
      if (view.prompt.stage === "submitted") return { head: "Thank you: your answers are in.", more: "" };
      return { head: "A few questions, just for the mediator.", more: "" };
    },
  };
}

function mediator(ctx: MediatorContext): MediatorPart {
  const { store, name } = ctx;
  const table = h("table", { class: "side-by-side", "data-testid": "measure-table" });
  const gap = h("p", { class: "gap", "data-testid": "measure-gap" });
  const answers = h("table", { class: "side-by-side", "data-testid": "measure-answers" });
  const title = h("h2", { id: "measure-scores-title", text: "Questionnaire" });
  const el = h(
    "section",
    { class: "card", "aria-labelledby": "measure-scores-title", "data-testid": "measure-scores" },
    title,
    h("p", { class: "detail", text: "Scores are private to you: the partners see only that they submitted." }),
    table,
    gap,
    h("details", null, h("summary", { text: "Answers, item by item" }), answers),
  );
  return {
    el,
    render(view) {
      const phase = measureOf(view);
      if (!phase) return view.prompt.text;
      const d = phase.definition;
      const all = scores(store, view.state.index);
      setText(title, `Questionnaire: ${d.title}`);
      fillTable(
        table,
        ["Partner", "Score", "Band"],
        PARTNERS.map((p) => {
          const s = all[p];
          if (!s) return [name(p), phase.submitted.includes(p) ? "submitted" : "not yet", "—"];
          return [name(p), `${s.score} (of ${s.low}–${s.high})`, s.band || "—"];
        }),
      );
      const a = all.partner_a;
      const b = all.partner_b;
      setText(gap, a && b ? `Gap between the partners: ${Math.abs(a.score - b.score)} points.` : "The gap shows when both have submitted.");
      fillTable(
        answers,
        ["Item", ...PARTNERS.map((p) => name(p))],
        d.items.map((item) => [
          item.reverse ? `${item.text} (reverse-scored)` : item.text,
          ...PARTNERS.map((p) => {
            const v = all[p]?.answers[item.id];
            if (v === undefined) return "—";
            const label = (item.anchors.length ? item.anchors : d.anchors)[v - d.start] ?? "";
            return `${v} · ${label}`;
          }),
        ]),
      );
      const waiting = PARTNERS.filter((p) => !phase.submitted.includes(p));
      return waiting.length
        ? `Questionnaire: waiting for ${waiting.map((p) => name(p)).join(" and ")}.`
        : "Questionnaire: both submitted.";
    },
  };
}

export const MEASURE: View = { partner, mediator };
