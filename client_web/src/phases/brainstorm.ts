// The brainstorm's view: every seat adds options (one text box, and what an
// option may cite: a value card, a "maybe, if …"), and sees the board as it
// grows. Nothing here judges: there is no rating control, and the server
// refuses any judgement (`no_judgement_in_brainstorm`). The mediator sees
// the same board, with the authors of an anonymous brainstorm.
//
// What a seat sees comes from its view of the state as the server sent it:
// `phase.options` (authors "" while anonymous), `phase.authors` (a partner's
// own only); what it may send is `may`, its bounds `hints["brainstorm.add"]`.

import { clear, h, setText, uid } from "../dom";
import type { SeatView } from "../store";
import { enable } from "../widgets";
import { Headline, MediatorContext, MediatorPart, PartnerContext, PartnerPart, View, phaseOf } from "./view";

// -- the wire types (PROTOCOL.md, "The state") ------------------------------------------------

export interface BrainstormOption {
  id: string;
  text: string;
  author: string;
  value_card: string;
  condition: string;
}
export interface BrainstormPhase {
  kind: "brainstorm";
  anonymous: boolean;
  options: BrainstormOption[];
  authors: Array<{ option: string; seat: string }>;
}

function boardOf(view: SeatView): BrainstormPhase | null {
  return phaseOf<BrainstormPhase>(view.state, "brainstorm");
}

/** An option's line under its text: what it cites, and who wrote it when known. */
function citing(o: BrainstormOption, author: string): string {
  const parts = [];
  if (o.value_card) parts.push(`value: ${o.value_card}`);
  if (o.condition) parts.push(o.condition);
  if (author) parts.push(`by ${author}`);
  return parts.join(" · ");
}

interface Form {
  readonly el: HTMLElement;
  render(view: SeatView): void;
}

/** The "add an option" form, the same for every seat. */
function addForm(ctx: PartnerContext | MediatorContext, key: string): Form {
  const { act, isBusy, drafts } = ctx;
  const textId = uid("option");
  const text = h("textarea", { id: textId, rows: "2", "data-testid": "brainstorm-text", placeholder: "An idea, any idea" });
  const card = h("input", { type: "text", autocomplete: "off", "data-testid": "brainstorm-card", placeholder: "a value card (optional)", "aria-label": "A value card it honours (optional)" });
  const condition = h("input", { type: "text", autocomplete: "off", "data-testid": "brainstorm-condition", placeholder: "maybe, if … (optional)", "aria-label": "A maybe, if … it answers (optional)" });
  drafts.bind(text, `${key}-text`);
  drafts.bind(card, `${key}-card`);
  drafts.bind(condition, `${key}-condition`);
  const add = h("button", { type: "button", class: "primary big", "data-testid": "brainstorm-add", text: "Add this option" });
  add.addEventListener("click", () => {
    void act(add, "brainstorm.add", { text: text.value.trim(), value_card: card.value.trim(), condition: condition.value.trim() }, () => {
      text.value = "";
      card.value = "";
      condition.value = "";
    });
  });
  const left = h("p", { class: "hint", "data-testid": "brainstorm-left" });
  const el = h(
    "div",
    { class: "brainstorm-form" },
    h("label", { for: textId, text: "Add an option (no judging yet: that comes next)" }),
    text,
    card,
    condition,
    h("div", { class: "row" }, add),
    left,
  );
  return {
    el,
    render(view) {
      const hint = view.hints["brainstorm.add"] ?? {};
      text.maxLength = Number(hint["max_text"] ?? 300);
      condition.maxLength = Number(hint["max_reference"] ?? 300);
      card.maxLength = 64;
      const may = view.may.has("brainstorm.add");
      enable(text, may);
      enable(card, may);
      enable(condition, may);
      enable(add, may, isBusy);
      setText(left, hint["left"] === undefined ? "" : `Room for ${String(hint["left"])} more.`);
    },
  };
}

function renderBoard(list: HTMLElement, phase: BrainstormPhase, author: (o: BrainstormOption) => string): void {
  clear(list);
  for (const o of phase.options) {
    list.append(
      h(
        "li",
        { class: "brainstorm-option", "data-option": o.id },
        h("p", { class: "brainstorm-text", text: o.text }),
        h("p", { class: "detail", text: citing(o, author(o)) }),
      ),
    );
  }
}

// -- the partner page ---------------------------------------------------------------------------

function partner(ctx: PartnerContext): PartnerPart {
  const form = addForm(ctx, "brainstorm");
  const board = h("ul", { class: "brainstorm-board", "data-testid": "brainstorm-board" });
  const titleId = uid("brainstorm");
  const el = h(
    "section",
    { class: "card brainstorm-card", "aria-labelledby": titleId, "data-testid": "brainstorm-panel" },
    h("h2", { id: titleId, text: "Brainstorm" }),
    form.el,
    h("h3", { text: "The board" }),
    board,
  );
  return {
    el,
    render(view): Headline {
      form.render(view);
      const phase = boardOf(view);
      if (phase) {
        const mine = new Set(phase.authors.filter((a) => a.seat === ctx.me).map((a) => a.option));
        renderBoard(board, phase, (o) => (o.author === ctx.me || mine.has(o.id) ? "you" : o.author ? "your partner" : ""));
      }
      return { head: view.prompt.text, more: "" };
    },
  };
}

// -- the mediator's live view ---------------------------------------------------------------------

function mediator(ctx: MediatorContext): MediatorPart {
  const form = addForm(ctx, "brainstorm-mediator");
  const controls = ctx.group("Brainstorm", form.el);
  const now = h("p", { class: "detail", "data-testid": "brainstorm-now" });
  const board = h("ul", { class: "brainstorm-board", "data-testid": "brainstorm-board" });
  const titleId = uid("brainstorm-board");
  const el = h(
    "section",
    { class: "card brainstorm-card", "aria-labelledby": titleId, "data-testid": "brainstorm-mediator" },
    h("h2", { id: titleId, text: "The option board" }),
    board,
  );
  return {
    now,
    controls,
    el,
    render(view) {
      form.render(view);
      const phase = boardOf(view);
      if (!phase) return view.prompt.text;
      const by = new Map(phase.authors.map((a) => [a.option, a.seat]));
      renderBoard(board, phase, (o) => {
        const seat = o.author || by.get(o.id) || "";
        return seat ? ctx.name(seat) : "";
      });
      setText(now, `${phase.options.length} options${phase.anonymous ? " (anonymous to the partners)" : ""}`);
      return view.prompt.text;
    },
  };
}

export const BRAINSTORM: View = { partner, mediator };
