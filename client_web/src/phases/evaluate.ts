// The evaluation's view: one option at a time on a phone, the fairness lens
// as three short fields (who benefits, who bears risk, how with consent) and
// three large buttons (acceptable, acceptable if …, not acceptable). Once both
// partners answered an option the server reveals it: both answers side by
// side, and the outcome it computed. The mediator sees both columns live.
//
// What a seat sees comes from its view of the state as the server sent it: a
// partner's `phase.answers` holds only its own unrevealed answers,
// `phase.revealed` what the reveals showed; the open options are
// `hints["evaluate.answer"].options`. Nothing here decides an outcome.

import { clear, h, setText, uid } from "../dom";
import { Partner, otherPartner } from "../protocol";
import type { SeatView } from "../store";
import { enable } from "../widgets";
import type { BrainstormOption } from "./brainstorm";
import { Headline, MediatorContext, MediatorPart, PartnerContext, PartnerPart, View, phaseOf } from "./view";

// -- the wire types (PROTOCOL.md, "The state") ------------------------------------------------

type Verdict = "acceptable" | "acceptable_if" | "not_acceptable";
interface Evaluation {
  benefits: string;
  risks: string;
  consent: string;
  verdict: Verdict;
  condition: string;
}
interface Revealed {
  option: string;
  partner_a: Evaluation;
  partner_b: Evaluation;
  outcome: string;
}
export interface EvaluatePhase {
  kind: "evaluate";
  options: BrainstormOption[];
  answers: Array<{ seat: Partner; option: string; evaluation: Evaluation }>;
  revealed: Revealed[];
}

const VERDICTS: ReadonlyArray<{ value: Verdict; label: string }> = [
  { value: "acceptable", label: "Acceptable" },
  { value: "acceptable_if", label: "Acceptable if …" },
  { value: "not_acceptable", label: "Not acceptable" },
];
const WORD: Record<string, string> = {
  acceptable: "Acceptable",
  acceptable_if: "Acceptable if",
  not_acceptable: "Not acceptable",
  proposed: "Proposed as a clause",
  proposed_with_condition: "Proposed, with a condition to discuss",
  not_proposed: "Not proposed",
};

function evaluationOf(view: SeatView): EvaluatePhase | null {
  return phaseOf<EvaluatePhase>(view.state, "evaluate");
}

function said(e: Evaluation): string {
  // People often start the condition with "if" themselves: say it once.
  const condition = e.condition.replace(/^\s*if\b[\s,:]*/i, "");
  const verdict = e.verdict === "acceptable_if" ? `${WORD[e.verdict]} ${condition}` : WORD[e.verdict];
  return `${verdict ?? e.verdict} — benefits: ${e.benefits} · risk: ${e.risks} · consent: ${e.consent}`;
}

function sideBySide(r: Revealed, label: (p: Partner) => string): HTMLElement {
  return h(
    "div",
    { class: "evaluate-side", "data-option": r.option, "data-outcome": r.outcome },
    h("p", { class: "evaluate-outcome", text: WORD[r.outcome] ?? r.outcome }),
    h("p", { class: "detail", text: `${label("partner_a")}: ${said(r.partner_a)}` }),
    h("p", { class: "detail", text: `${label("partner_b")}: ${said(r.partner_b)}` }),
  );
}

// -- the partner page ---------------------------------------------------------------------------

function partner(ctx: PartnerContext): PartnerPart {
  const { me, act, isBusy, drafts } = ctx;
  const other = otherPartner(me);
  const list = h("ol", { class: "evaluate-options", "data-testid": "evaluate-options" });
  const titleId = uid("evaluate");
  const el = h(
    "section",
    { class: "card evaluate-card", "aria-labelledby": titleId, "data-testid": "evaluate-panel" },
    h("h2", { id: titleId, text: "Evaluate each option" }),
    h("p", { class: "detail", text: "Your answers stay private until you have both answered an option; then you see both side by side." }),
    list,
  );

  function field(option: string, name: string, label: string, max: number, value: string): HTMLTextAreaElement {
    const box = h("textarea", { rows: "2", "aria-label": label, placeholder: label, "data-testid": `evaluate-${name}` });
    drafts.bind(box, `evaluate-${option}-${name}`);
    if (!box.value && value) box.value = value;
    box.maxLength = max;
    return box;
  }

  interface Row {
    readonly el: HTMLLIElement;
    update(mine: Evaluation | undefined, open: boolean): void;
  }

  /** An open option's row, made once (typing survives every render). */
  function openRow(o: BrainstormOption, max: number): Row {
    const benefits = field(o.id, "benefits", "Who benefits?", max, "");
    const risks = field(o.id, "risks", "Who bears risk?", max, "");
    const consent = field(o.id, "consent", "How would we do it with consent?", max, "");
    const condition = h("input", { type: "text", autocomplete: "off", placeholder: "acceptable if …", "aria-label": "Acceptable if …", "data-testid": "evaluate-condition" });
    drafts.bind(condition, `evaluate-${o.id}-condition`);
    condition.maxLength = max;
    const buttons = VERDICTS.map(({ value, label }) => {
      const b = h("button", { type: "button", class: `big evaluate-verdict evaluate-${value}`, "aria-pressed": "false", "data-verdict": value, text: label });
      b.addEventListener("click", () => {
        void act(b, "evaluate.answer", {
          option: o.id,
          benefits: benefits.value.trim(),
          risks: risks.value.trim(),
          consent: consent.value.trim(),
          verdict: value,
          condition: value === "acceptable_if" ? condition.value.trim() : "",
        });
      });
      return b;
    });
    const saved = h("p", { class: "hint", "data-testid": "evaluate-saved" });
    const el = h(
      "li",
      { class: "evaluate-option", "data-option": o.id },
      h("p", { class: "evaluate-text", text: o.text }),
      benefits,
      risks,
      consent,
      condition,
      h("div", { class: "evaluate-verdicts", role: "group", "aria-label": `Your verdict on ${o.text}` }, ...buttons),
      saved,
    );
    return {
      el,
      update(mine, open) {
        for (const b of buttons) {
          b.setAttribute("aria-pressed", String(mine?.verdict === b.dataset["verdict"]));
          enable(b, open, isBusy);
        }
        for (const box of [benefits, risks, consent, condition]) enable(box, open);
        el.dataset["answered"] = mine?.verdict ?? "";
        setText(saved, mine ? `Saved: ${WORD[mine.verdict] ?? mine.verdict}. You may change it until your partner answers too.` : "");
      },
    };
  }
  const rows = new Map<string, Row>();
  const revealedRows = new Map<string, HTMLElement>();

  return {
    el,
    render(view): Headline {
      const phase = evaluationOf(view);
      if (!phase) return { head: view.prompt.text, more: "" };
      const hint = view.hints["evaluate.answer"] ?? {};
      const openIds = new Set((hint["options"] as string[] | undefined) ?? []);
      const max = Number(hint["max_text"] ?? 300);
      const open = view.may.has("evaluate.answer");
      const mine = new Map(phase.answers.filter((a) => a.seat === me).map((a) => [a.option, a.evaluation]));
      const shown = new Map(phase.revealed.map((r) => [r.option, r]));
      const label = (p: Partner) => (p === me ? "You" : p === other ? "Your partner" : p);
      const nodes: HTMLElement[] = [];
      for (const o of phase.options) {
        const r = shown.get(o.id);
        if (r) {
          const key = `${view.state.index} ${o.id} shown`;
          let done = revealedRows.get(key);
          if (!done) {
            done = h("li", { class: "evaluate-option evaluate-revealed", "data-option": o.id }, h("p", { class: "evaluate-text", text: o.text }), sideBySide(r, label));
            revealedRows.set(key, done);
          }
          nodes.push(done);
        } else {
          const key = `${view.state.index} ${o.id}`;
          let row = rows.get(key);
          if (!row) {
            row = openRow(o, max);
            rows.set(key, row);
          }
          row.update(mine.get(o.id), open && openIds.has(o.id));
          nodes.push(row.el);
        }
      }
      // Replace the rows only when they change, so typing keeps its focus.
      const same = nodes.length === list.children.length && nodes.every((n, i) => list.children[i] === n);
      if (!same) list.replaceChildren(...nodes);
      return { head: view.prompt.text, more: "" };
    },
  };
}

// -- the mediator's live view ---------------------------------------------------------------------

function mediator(ctx: MediatorContext): MediatorPart {
  const now = h("p", { class: "detail", "data-testid": "evaluate-now" });
  const list = h("ol", { class: "evaluate-options", "data-testid": "evaluate-board" });
  const titleId = uid("evaluate-board");
  const el = h(
    "section",
    { class: "card evaluate-card", "aria-labelledby": titleId, "data-testid": "evaluate-mediator" },
    h("h2", { id: titleId, text: "The evaluation, side by side" }),
    h("p", { class: "hint", text: "Only you see answers before an option is revealed to both." }),
    list,
  );
  return {
    now,
    el,
    render(view) {
      const phase = evaluationOf(view);
      if (!phase) return view.prompt.text;
      const shown = new Map(phase.revealed.map((r) => [r.option, r]));
      const label = (p: Partner) => ctx.name(p);
      clear(list);
      for (const o of phase.options) {
        const r = shown.get(o.id);
        const pending = phase.answers.filter((a) => a.option === o.id);
        list.append(
          h(
            "li",
            { class: "evaluate-option", "data-option": o.id },
            h("p", { class: "evaluate-text", text: o.text }),
            r
              ? sideBySide(r, label)
              : h("div", null, ...pending.map((a) => h("p", { class: "detail", text: `${label(a.seat)} (private): ${said(a.evaluation)}` }))),
          ),
        );
      }
      setText(now, `${phase.revealed.length} of ${phase.options.length} options shown`);
      return view.prompt.text;
    },
  };
}

export const EVALUATE: View = { partner, mediator };
