// The yes / maybe / no list's view: each partner answers every item
// privately (three large buttons; a maybe may carry an "if …"), says done,
// and after the mediator's reveal sees only what neither said no to; the
// author of a no may show that one item to the other partner, with a confirm.
// The mediator sees both partners' answers live, side by side, and reveals.
//
// What a seat sees comes from its view of the state as the server sent it: a
// partner's `phase.answers` holds only its own answers, `phase.shared` what
// the reveal showed, `hints["mutual.disclose"].items` its own nos not shown
// yet; what it may send is `may`. Nothing here decides which items are shared.

import { clear, h, setText, show, uid } from "../dom";
import { Partner, otherPartner } from "../protocol";
import type { SeatView } from "../store";
import { enable } from "../widgets";
import { Headline, MediatorContext, MediatorPart, PartnerContext, PartnerPart, View, phaseOf, specFor } from "./view";

// -- the wire types (PROTOCOL.md, "The state") ------------------------------------------------

type Choice = "yes" | "maybe" | "no";

interface MutualItem {
  id: string;
  text: string;
}
export interface MutualRevealSpec {
  type: "mutual_reveal";
  title: string;
  items: MutualItem[];
}
interface MutualAnswer {
  seat: Partner;
  item: string;
  answer: Choice;
  condition: string;
}
interface Given {
  answer: Choice;
  condition: string;
}
interface SharedItem {
  item: string;
  text: string;
  partner_a: Given;
  partner_b: Given;
}
export interface MutualRevealPhase {
  kind: "mutual_reveal";
  answers: MutualAnswer[];
  done: Partner[];
  revealed: boolean;
  shared: SharedItem[];
  disclosed: Array<{ seat: Partner; item: string }>;
}

const CHOICES: ReadonlyArray<{ value: Choice; label: string }> = [
  { value: "yes", label: "Yes" },
  { value: "maybe", label: "Maybe" },
  { value: "no", label: "No" },
];
const WORD: Record<Choice, string> = { yes: "Yes", maybe: "Maybe", no: "No" };

const REVEAL_RULE = "The mediator will reveal this when you are both done. Only what neither of you said no to is shown.";

function listOf(view: SeatView): { phase: MutualRevealPhase; spec: MutualRevealSpec } | null {
  const phase = phaseOf<MutualRevealPhase>(view.state, "mutual_reveal");
  const spec = specFor<MutualRevealSpec>(view.state, "mutual_reveal");
  return phase && spec ? { phase, spec } : null;
}

/** "Maybe — if we plan it" (or the plain word). */
function given(g: Given): string {
  return g.answer === "maybe" && g.condition ? `Maybe — ${g.condition}` : WORD[g.answer];
}

/** A list's rows are made once per list (a playbook may hold several lists). */
function listKey(view: SeatView): string {
  return `${view.state.index}`;
}

// -- the partner page ---------------------------------------------------------------------------

interface ItemRow {
  readonly el: HTMLLIElement;
  render(mine: MutualAnswer | undefined, open: boolean): void;
}

function partner(ctx: PartnerContext): PartnerPart {
  const { me, drafts, act, isBusy } = ctx;
  const other = otherPartner(me);

  // -- answering ------------------------------------------------------------------------
  const progress = h("p", { class: "mutual-progress", "data-testid": "mutual-progress", role: "status" });
  const items = h("ol", { class: "mutual-items", "data-testid": "mutual-items" });
  const doneBtn = h("button", { type: "button", class: "primary mutual-done", "data-testid": "mutual-done", text: "I'm done" });
  doneBtn.addEventListener("click", () => void act(doneBtn, "mutual.done"));
  const doneNote = h("p", { class: "detail", "data-testid": "mutual-done-note" });
  const answering = h(
    "div",
    { class: "mutual-answering" },
    h("p", { class: "detail", text: `Only the mediator sees your answers. ${REVEAL_RULE}` }),
    progress,
    items,
    h("div", { class: "row" }, doneBtn),
    doneNote,
  );

  // -- after the reveal -------------------------------------------------------------------
  const sharedList = h("ul", { class: "mutual-shared", "data-testid": "mutual-shared" });
  const sharedEmpty = h("p", { class: "detail", text: "No item had a yes or a maybe from both of you." });
  const disclosedItems = h("ul", { class: "mutual-disclosed", "data-testid": "mutual-disclosed" });
  const disclosedList = h("div", { class: "sub" }, h("h3", { text: "Shown with consent" }), disclosedItems);
  const privateNos = h("ul", { class: "mutual-private", "data-testid": "mutual-private" });
  const privatePart = h(
    "div",
    { class: "sub mutual-private-part" },
    h("h3", { text: "Your no answers: only you and the mediator see them" }),
    h("p", {
      class: "detail",
      text: "You may show one to your partner, if you want to talk about it. Once shown, it cannot be hidden again.",
    }),
    privateNos,
  );
  const revealed = h(
    "div",
    { class: "mutual-revealed" },
    h("h3", { text: "What you are both open to" }),
    sharedList,
    sharedEmpty,
    disclosedList,
    privatePart,
  );

  const titleId = uid("mutual");
  const el = h(
    "section",
    { class: "card mutual-card", "aria-labelledby": titleId, "data-testid": "mutual-panel" },
    h("h2", { id: titleId, text: "Yes, maybe, no" }),
    answering,
    revealed,
  );

  // -- the rows, one per item ---------------------------------------------------------------
  let rowsFor = "";
  const rows = new Map<string, ItemRow>();

  function itemRow(item: MutualItem, maxCondition: () => number): ItemRow {
    const textId = uid("item");
    const buttons = CHOICES.map(({ value, label }) => {
      const b = h("button", {
        type: "button",
        class: `mutual-choice mutual-choice-${value}`,
        "aria-pressed": "false",
        "data-choice": value,
        text: label,
      });
      b.addEventListener("click", () => {
        // A maybe carries what the "if …" box holds; a yes or a no none.
        const condition = value === "maybe" ? conditionBox.value.trim() : "";
        void act(b, "mutual.answer", { answers: [{ item: item.id, answer: value, condition }] });
      });
      return b;
    });
    const conditionBox = h("input", {
      type: "text",
      autocomplete: "off",
      placeholder: "if …",
      "aria-label": `Maybe, if … (optional) — ${item.text}`,
      "data-testid": "mutual-condition",
    });
    drafts.bind(conditionBox, `mutual-${item.id}`);
    const saveBtn = h("button", { type: "button", class: "small", text: "Save the condition" });
    saveBtn.addEventListener("click", () => {
      void act(saveBtn, "mutual.answer", {
        answers: [{ item: item.id, answer: "maybe", condition: conditionBox.value.trim() }],
      });
    });
    const saved = h("p", { class: "hint mutual-saved" });
    const conditionPart = h("div", { class: "mutual-condition" }, h("div", { class: "row" }, conditionBox, saveBtn), saved);
    const el = h(
      "li",
      { class: "mutual-item", "data-item": item.id },
      h("p", { class: "mutual-item-text", id: textId, text: item.text }),
      h("div", { class: "mutual-choices", role: "group", "aria-labelledby": textId }, ...buttons),
      conditionPart,
    );
    return {
      el,
      render(mine, open) {
        for (const b of buttons) {
          const pressed = mine?.answer === b.dataset["choice"];
          b.setAttribute("aria-pressed", String(pressed));
          enable(b, open, isBusy);
        }
        conditionBox.maxLength = maxCondition();
        const maybe = mine?.answer === "maybe";
        show(conditionPart, maybe);
        enable(conditionBox, open && maybe);
        enable(saveBtn, open && maybe, isBusy);
        setText(saved, maybe && mine?.condition ? `Saved: “${mine.condition}”` : maybe ? "Maybe, with no condition." : "");
        el.dataset["answer"] = mine?.answer ?? "";
      },
    };
  }

  // -- after the reveal: one's own nos, each with "show it", then a confirm ---------------------
  let confirming = "";
  function privateRow(item: MutualItem, mayShow: boolean): HTMLLIElement {
    const show1 = h("button", { type: "button", class: "small", "data-testid": "mutual-show", text: "Show this one to my partner" });
    const yes = h("button", { type: "button", class: "small primary", "data-testid": "mutual-show-confirm", text: "Yes, show it" });
    const no = h("button", { type: "button", class: "small", text: "Keep it private" });
    show1.addEventListener("click", () => {
      confirming = item.id;
      ctx.rerender();
    });
    no.addEventListener("click", () => {
      confirming = "";
      ctx.rerender();
    });
    yes.addEventListener("click", () => {
      void act(yes, "mutual.disclose", { item: item.id }, () => {
        confirming = "";
      });
    });
    const asking = confirming === item.id;
    enable(show1, mayShow, isBusy);
    enable(yes, mayShow, isBusy);
    return h(
      "li",
      { class: "mutual-item", "data-item": item.id },
      h("p", { class: "mutual-item-text", text: item.text }),
      asking
        ? h(
            "div",
            { class: "mutual-confirm", role: "group", "aria-label": "Confirm" },
            h("p", { text: "Your partner will see that you said no to this. Show it?" }),
            h("div", { class: "row" }, yes, no),
          )
        : h("div", { class: "row" }, show1),
    );
  }

  return {
    el,
    render(view) {
      const list = listOf(view);
      if (!list) return { head: view.prompt.text, more: "" };
      const { phase, spec } = list;
      const mine = new Map(phase.answers.filter((a) => a.seat === me).map((a) => [a.item, a]));
      const open = view.may.has("mutual.answer");
      const maxCondition = () => Number(view.hints["mutual.answer"]?.["max_condition"] ?? 300);

      if (rowsFor !== listKey(view)) {
        rowsFor = listKey(view);
        rows.clear();
        clear(items);
        for (const item of spec.items) {
          const row = itemRow(item, maxCondition);
          rows.set(item.id, row);
          items.append(row.el);
        }
      }
      for (const item of spec.items) rows.get(item.id)?.render(mine.get(item.id), open);

      const answered = spec.items.filter((i) => mine.has(i.id)).length;
      setText(progress, `${answered} of ${spec.items.length} answered`);
      const done = phase.done.includes(me);
      show(doneBtn, !done);
      enable(doneBtn, view.may.has("mutual.done"), isBusy);
      // That the partner is done reaches this page only where the playbook shows it.
      const partnerDone = phase.done.includes(other);
      setText(
        doneNote,
        done
          ? `You are done. You may still change an answer until the mediator reveals the list.${partnerDone ? " Your partner is done too." : ""}`
          : answered < spec.items.length
            ? "Answer every item, then say you are done."
            : "All answered. Change any answer you like, then say you are done.",
      );
      show(answering, !phase.revealed);
      show(revealed, phase.revealed);

      if (phase.revealed) {
        const text = new Map(spec.items.map((i) => [i.id, i.text]));
        clear(sharedList);
        for (const s of phase.shared) {
          sharedList.append(
            h(
              "li",
              { class: "mutual-item", "data-item": s.item },
              h("p", { class: "mutual-item-text", text: s.text }),
              h("p", { class: "detail", text: `You: ${given(s[me])} · Your partner: ${given(s[other])}` }),
            ),
          );
        }
        show(sharedEmpty, phase.shared.length === 0);
        clear(disclosedItems);
        for (const d of phase.disclosed) {
          const words = text.get(d.item) ?? d.item;
          disclosedItems.append(
            h(
              "li",
              { class: "mutual-item mutual-shown", "data-item": d.item },
              h("p", { class: "mutual-item-text", text: words }),
              h("p", {
                class: "detail",
                text: d.seat === me ? "You showed your partner your no to this." : "Your partner chose to show you: their answer was no.",
              }),
            ),
          );
        }
        show(disclosedList, phase.disclosed.length > 0);
        const mayShow = view.may.has("mutual.disclose");
        const ownNos = (view.hints["mutual.disclose"]?.["items"] as string[] | undefined) ?? [];
        clear(privateNos);
        for (const id of ownNos) privateNos.append(privateRow({ id, text: text.get(id) ?? id }, mayShow));
        show(privatePart, ownNos.length > 0);
      }
      return headline(view);
    },
  };
}

const HEADLINES: Record<string, Headline> = {
  answering: { head: "Your private list: yes, maybe or no.", more: "" },
  answered: { head: "All answered. Say you are done when you are ready.", more: "" },
  done: { head: "You are done. Waiting for the reveal.", more: "" },
  revealed: { head: "Revealed: what you are both open to.", more: "Only what neither of you said no to is shown." },
};

function headline(view: SeatView): Headline {
  return HEADLINES[view.prompt.stage] ?? { head: view.prompt.text, more: "" };
}

// -- the mediator's live view ---------------------------------------------------------------------

function mediator(ctx: MediatorContext): MediatorPart {
  const { act, isBusy, name } = ctx;
  const revealBtn = h("button", { type: "button", class: "primary", "data-testid": "mutual-reveal", text: "Reveal the list" });
  revealBtn.addEventListener("click", () => void act(revealBtn, "mutual.reveal"));
  const revealHint = h("p", { class: "hint", text: "Both partners see only the items neither said no to." });
  const controls = ctx.group("Yes, maybe, no", h("div", { class: "row" }, revealBtn), revealHint);

  const now = h("p", { class: "detail", "data-testid": "mutual-now" });
  const titleId = uid("mutual-answers");
  const head = h("tr");
  const body = h("tbody");
  const el = h(
    "section",
    { class: "card mutual-answers", "aria-labelledby": titleId, "data-testid": "mutual-answers" },
    h("h2", { id: titleId, text: "Yes, maybe, no: every answer" }),
    h("p", { class: "hint", text: "Only you see both columns. Each partner sees their own answers, and after the reveal the shared items." }),
    h("div", { class: "table-wrap" }, h("table", { class: "mutual-table" }, h("thead", null, head), body)),
  );

  return {
    now,
    controls,
    el,
    render(view) {
      enable(revealBtn, view.may.has("mutual.reveal"), isBusy);
      const list = listOf(view);
      if (!list) return view.prompt.text;
      const { phase, spec } = list;
      const partners: Partner[] = ["partner_a", "partner_b"];
      const doneWord = (p: Partner) => (phase.done.includes(p) ? " (done)" : "");
      head.replaceChildren(
        h("th", { scope: "col", text: "Item" }),
        ...partners.map((p) => h("th", { scope: "col", text: `${name(p)}${doneWord(p)}` })),
        h("th", { scope: "col", text: "Shown" }),
      );
      const answer = new Map(phase.answers.map((a) => [`${a.seat} ${a.item}`, a]));
      const shared = new Set(phase.shared.map((s) => s.item));
      const disclosed = new Map(phase.disclosed.map((d) => [d.item, d.seat]));
      clear(body);
      for (const item of spec.items) {
        const cells = partners.map((p) => {
          const a = answer.get(`${p} ${item.id}`);
          return h("td", { class: a ? `answer-${a.answer}` : "answer-none", text: a ? given(a) : "—" });
        });
        const by = disclosed.get(item.id);
        const shownText = !phase.revealed ? "" : shared.has(item.id) ? "to both" : by ? `no shown by ${name(by)}` : "held back";
        body.append(h("tr", { "data-item": item.id }, h("th", { scope: "row", text: item.text }), ...cells, h("td", { text: shownText })));
      }
      const counts = partners
        .map((p) => `${name(p)}: ${phase.done.includes(p) ? "done" : `${phase.answers.filter((a) => a.seat === p).length}/${spec.items.length}`}`)
        .join(" · ");
      setText(now, phase.revealed ? `Revealed: ${phase.shared.length} of ${spec.items.length} items shared.` : counts);
      return view.prompt.text;
    },
  };
}

export const MUTUAL_REVEAL: View = { partner, mediator };
