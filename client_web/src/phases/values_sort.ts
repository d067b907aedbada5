// The values cards' view (a `values_sort` phase): each partner sorts every
// card, one at a time, with three large buttons (core, negotiable, not
// important); the mediator watches both sorts side by side, live, and
// reveals them when both are done. After the reveal both partners see the
// comparison the server made, in three groups side by side.
//
// What a partner may do comes from the server: the three buttons and the
// card they sort follow `may` and `hints["values.sort"].unsorted`, the move
// buttons `may` (`values.move`), the own-card form `hints["values.add"]`, the
// Done button `may` (`values.done`), the Reveal button the mediator's `may`.
// A partner's view holds its own sort only; its notes for the mediator are
// read back from its own `values.noted` events.

import { clear, field, h, setText, show } from "../dom";
import { Partner, PARTNERS, WireEvent, str } from "../protocol";
import type { SeatView, Store } from "../store";
import { enable } from "../widgets";
import { Headline, MediatorContext, MediatorPart, PartnerContext, PartnerPart, View, phaseOf } from "./view";

type Place = "core" | "negotiable" | "not_important";

interface Card {
  id: string;
  title: string;
  text: string;
}

interface PartnerSort {
  places: Record<string, Place>;
  own: Card[];
  done: boolean;
}

interface Split {
  card: string;
  core_for: Partner;
}

interface RevealedCard extends Card {
  seat: Partner;
  place: Place;
}

interface Comparison {
  shared_core: string[];
  core_and_not_important: Split[];
  negotiable_both: string[];
  own: RevealedCard[];
}

/** The phase state on the wire (docs/PROTOCOL.md, "The state"). */
interface ValuesSortPhase {
  kind: "values_sort";
  cards: Card[];
  sorts: Partial<Record<Partner, PartnerSort>>;
  show_partner_done: boolean;
  /** A partner's view only, where the playbook shows it. */
  partner_done?: boolean;
  revealed: Comparison | null;
}

/** The three places, in the order they are offered, with their words. */
const PLACES: ReadonlyArray<readonly [Place, string]> = [
  ["core", "Core — non-negotiable"],
  ["negotiable", "Negotiable"],
  ["not_important", "Not important"],
];
const PLACE_WORDS: Record<Place, string> = Object.fromEntries(PLACES) as Record<Place, string>;

const WAIT = "The mediator will reveal this when you are both done.";

function valuesOf(view: SeatView): ValuesSortPhase | null {
  return phaseOf<ValuesSortPhase>(view.state, "values_sort");
}

/** Every card by id: the deck, and the own cards this seat may see. */
function titles(phase: ValuesSortPhase): Map<string, Card> {
  const byId = new Map(phase.cards.map((c) => [c.id, c] as const));
  for (const sort of Object.values(phase.sorts)) for (const c of sort?.own ?? []) byId.set(c.id, c);
  for (const c of phase.revealed?.own ?? []) byId.set(c.id, c);
  return byId;
}

function titleOf(cards: Map<string, Card>, id: string): string {
  return cards.get(id)?.title ?? id;
}

/** "12 of 40 sorted", or "Done". */
function progress(phase: ValuesSortPhase, sort: PartnerSort): string {
  const total = phase.cards.length + sort.own.length;
  const sorted = Object.keys(sort.places).length;
  return sort.done ? `Done: all ${total} sorted` : `${sorted} of ${total} sorted`;
}

/** The seat's own notes for the mediator, from its `values.noted` events. */
function notesOf(store: Store, seat: Partner): WireEvent[] {
  return store.transcript.filter((e) => e.type === "values.noted" && str(e, "seat") === seat);
}

/** A list of card titles (an empty group says so). */
function titleList(items: string[], empty: string, testid: string): HTMLElement {
  if (!items.length) return h("p", { class: "detail", text: empty, "data-testid": testid });
  return h("ul", { class: "values-list", "data-testid": testid }, ...items.map((t) => h("li", { text: t })));
}

/** The reveal's groups, side by side (stacked on a phone). `who` names a partner. */
function revealGroups(phase: ValuesSortPhase, who: (p: Partner) => string): HTMLElement {
  const comparison = phase.revealed;
  const cards = titles(phase);
  if (!comparison) return h("div");
  const group = (title: string, body: HTMLElement, testid: string) =>
    h("section", { class: "values-group", "data-testid": testid }, h("h3", { text: title }), body);
  const own = comparison.own.map((c) => `${c.title} (${who(c.seat)}): ${PLACE_WORDS[c.place].toLowerCase()}`);
  return h(
    "div",
    { class: "values-columns" },
    group(
      "Core for both",
      titleList(
        comparison.shared_core.map((id) => titleOf(cards, id)),
        "No card is core for both.",
        "shared-core",
      ),
      "group-shared-core",
    ),
    group(
      "Core for one, not important to the other",
      titleList(
        comparison.core_and_not_important.map((s) => `${titleOf(cards, s.card)} — core for ${who(s.core_for)}`),
        "None: no card is core for one and not important to the other.",
        "core-vs-not-important",
      ),
      "group-split",
    ),
    group(
      "Negotiable for both",
      titleList(
        comparison.negotiable_both.map((id) => titleOf(cards, id)),
        "No card is negotiable for both.",
        "negotiable-both",
      ),
      "group-negotiable",
    ),
    comparison.own.length ? group("Cards you added", titleList(own, "", "own-revealed"), "group-own") : null,
  );
}

/** One partner's sort in three groups, for the mediator (or the partner's own list). */
function sortGroups(
  phase: ValuesSortPhase,
  sort: PartnerSort,
  testid: string,
  moves?: (id: string, at: Place) => HTMLElement | null,
): HTMLElement {
  const cards = titles(phase);
  const own = new Set(sort.own.map((c) => c.id));
  const all = [...phase.cards.map((c) => c.id), ...sort.own.map((c) => c.id)];
  const wrap = h("div", { class: "values-columns", "data-testid": testid });
  for (const [place, words] of PLACES) {
    const ids = all.filter((id) => sort.places[id] === place);
    const list = h("ul", { class: "values-list", "data-place": place });
    for (const id of ids) {
      const label = `${titleOf(cards, id)}${own.has(id) ? " (own card)" : ""}`;
      list.append(h("li", null, h("span", { text: label }), moves?.(id, place) ?? null));
    }
    wrap.append(
      h(
        "section",
        { class: "values-group" },
        h("h3", { text: `${words} (${ids.length})` }),
        ids.length ? list : h("p", { class: "detail", text: "None yet." }),
      ),
    );
  }
  const left = all.filter((id) => !(id in sort.places));
  if (left.length) wrap.append(h("p", { class: "detail values-left", text: `Not sorted yet: ${left.length}` }));
  return wrap;
}

// -- the partner page ---------------------------------------------------------------------------

function partner(ctx: PartnerContext): PartnerPart {
  const { store, me, drafts, act, isBusy } = ctx;

  const progressLine = h("p", { class: "values-progress", "aria-live": "polite", "data-testid": "values-progress" });
  const wait = h("p", { class: "values-wait", text: WAIT, "data-testid": "values-wait" });
  // Only where the playbook shows it does the server send `partner_done`.
  const partnerDone = h("p", { class: "detail", text: "Your partner is done sorting.", "data-testid": "partner-done" });

  // -- the card to sort now, and its three buttons ----------------------------------------
  const cardTitle = h("h3", { class: "values-card-title", "data-testid": "values-card-title" });
  const cardText = h("p", { class: "values-card-text" });
  const placeButtons = PLACES.map(([place, words]) => {
    const button = h("button", { type: "button", class: "values-place", text: words, "data-place": place });
    button.addEventListener("click", () => {
      const card = current.dataset["card"];
      if (card) void act(button, "values.sort", { cards: { [card]: place } });
    });
    return button;
  });
  const current = h(
    "div",
    { class: "values-current", "data-testid": "values-current" },
    cardTitle,
    cardText,
    h("div", { class: "values-places", role: "group", "aria-label": "Where does this card go for you?" }, ...placeButtons),
  );

  const doneBtn = h("button", { type: "button", class: "primary", text: "I'm done sorting", "data-testid": "values-done" });
  doneBtn.addEventListener("click", () => void act(doneBtn, "values.done"));

  // -- my sort so far, with moves -------------------------------------------------------------
  const mine = h("div", { class: "values-mine" });
  const mineBox = h("details", { class: "values-mine-box" }, h("summary", { text: "Your sort" }), mine);

  // -- a card of my own --------------------------------------------------------------------------
  const ownTitle = h("input", { type: "text", maxLength: 60, "data-testid": "own-title" });
  const ownText = h("input", { type: "text", maxLength: 200, "data-testid": "own-text" });
  drafts.bind(ownTitle, "values-own-title");
  drafts.bind(ownText, "values-own-text");
  const ownLeft = h("p", { class: "hint" });
  const addBtn = h("button", { type: "button", text: "Add my card", "data-testid": "own-add" });
  addBtn.addEventListener("click", () => {
    const title = ownTitle.value.trim();
    if (!title) return ownTitle.focus();
    void act(addBtn, "values.add", { title, text: ownText.value.trim() }, () => {
      drafts.clear(ownTitle, "values-own-title");
      drafts.clear(ownText, "values-own-text");
    });
  });
  const addForm = h(
    "div",
    { class: "sub values-add" },
    h("h3", { text: "Add a card of your own" }),
    field("Title", ownTitle, ownLeft),
    field("One sentence (optional)", ownText),
    h("p", { class: "hint", text: "Your partner sees your own cards only when the mediator reveals the sorts." }),
    addBtn,
  );

  // -- what shaped this value (for the mediator only) -------------------------------------------
  const noteCard = h("select", { "data-testid": "note-card" });
  const noteBox = h("textarea", { rows: 3, maxLength: 1000, "data-testid": "note-text" });
  drafts.bind(noteBox, "values-note");
  const noteBtn = h("button", { type: "button", text: "Send to the mediator", "data-testid": "note-send" });
  noteBtn.addEventListener("click", () => {
    const text = noteBox.value.trim();
    if (!text) return noteBox.focus();
    void act(noteBtn, "values.note", { card: noteCard.value, text }, () => drafts.clear(noteBox, "values-note"));
  });
  const myNotes = h("ul", { class: "notes-list", "data-testid": "my-notes" });
  const noteForm = h(
    "div",
    { class: "sub values-note" },
    h("h3", { text: "What shaped this value?" }),
    h("p", {
      class: "detail",
      text: "Past experiences, things you were told growing up… Only the mediator reads this, never your partner.",
    }),
    field("Which card", noteCard),
    field("Your note for the mediator", noteBox),
    noteBtn,
    myNotes,
  );

  // -- after the reveal ---------------------------------------------------------------------------
  const revealBox = h("div", { class: "values-reveal", "data-testid": "values-reveal" });

  const el = h(
    "section",
    { class: "card values-card", "aria-labelledby": "values-title", "data-testid": "values-panel" },
    h("h2", { id: "values-title", text: "Your cards" }),
    h("p", {
      class: "detail",
      text: "For each card: is it core for you (non-negotiable), negotiable, or not important? There are no right answers.",
    }),
    progressLine,
    wait,
    partnerDone,
    current,
    h("div", { class: "row" }, doneBtn),
    revealBox,
    mineBox,
    addForm,
    noteForm,
  );

  let shownKey = "";
  let reviewed = false;
  return {
    el,
    render(view): Headline {
      const phase = valuesOf(view);
      if (!phase) return { head: view.prompt.text, more: "" };
      const { may, hints } = view;
      const sort = phase.sorts[me] ?? { places: {}, own: [], done: false };
      const cards = titles(phase);
      const revealed = phase.revealed !== null;

      setText(progressLine, progress(phase, sort));
      show(wait, !revealed);
      show(partnerDone, phase.partner_done === true && !revealed);

      // The card to sort now: the first the server lists as unsorted.
      const unsorted = (hints["values.sort"]?.["unsorted"] as string[] | undefined) ?? [];
      const next = may.has("values.sort") ? unsorted[0] : undefined;
      show(current, next !== undefined);
      if (next !== undefined) {
        const card = cards.get(next);
        current.dataset["card"] = next;
        setText(cardTitle, card?.title ?? next);
        setText(cardText, card?.text ?? "");
        for (const b of placeButtons) enable(b, true, isBusy);
      }
      show(doneBtn, may.has("values.done"));
      enable(doneBtn, may.has("values.done"), isBusy);

      // My sort, rebuilt only when it changed (so focus stays where it is).
      const canMove = may.has("values.move");
      const key = JSON.stringify([sort, canMove, revealed]);
      if (key !== shownKey) {
        shownKey = key;
        const moves = (id: string, at: Place) => {
          if (!canMove) return null;
          const row = h("span", { class: "values-moves" });
          for (const [place, words] of PLACES) {
            if (place === at) continue;
            const b = h("button", { type: "button", class: "small", text: `→ ${words}`, "aria-label": `Move ${titleOf(cards, id)} to ${words}` });
            b.addEventListener("click", () => void act(b, "values.move", { card: id, place }));
            row.append(b);
          }
          return row;
        };
        clear(mine);
        mine.append(sortGroups(phase, sort, "my-sort", moves));
        clear(revealBox);
        if (revealed) revealBox.append(h("h3", { text: "Side by side" }), revealGroups(phase, (p) => (p === me ? "you" : "your partner")));
        // The note form's cards: the deck and my own.
        const chosen = noteCard.value;
        clear(noteCard);
        for (const c of [...phase.cards, ...sort.own]) noteCard.append(h("option", { value: c.id, text: c.title }));
        if (chosen) noteCard.value = chosen;
      }
      if (next !== undefined && document.activeElement !== noteCard && document.activeElement !== noteBox) noteCard.value = next;
      show(revealBox, revealed);
      // Once every card is sorted, the partner's own sort opens for a last look before Done.
      if (next === undefined && !reviewed && !revealed) mineBox.open = reviewed = true;

      const addHint = hints["values.add"] as { left?: number } | undefined;
      show(addForm, may.has("values.add"));
      enable(addBtn, may.has("values.add"), isBusy);
      setText(ownLeft, addHint?.left !== undefined ? `You can add ${addHint.left} more.` : "");

      show(noteForm, may.has("values.note"));
      enable(noteBtn, may.has("values.note"), isBusy);
      clear(myNotes);
      for (const e of notesOf(store, me)) {
        myNotes.append(h("li", null, h("strong", { text: `${titleOf(cards, str(e, "card"))}: ` }), str(e, "text")));
      }

      const stage = view.prompt.stage;
      if (stage === "revealed") return { head: "The cards are revealed: here they are, side by side.", more: "" };
      if (stage === "done") return { head: view.prompt.text, more: "" };
      if (stage === "sorting") return { head: "Values cards: sort each card.", more: view.prompt.text };
      return { head: view.prompt.text, more: "" };
    },
  };
}

// -- the mediator's live view --------------------------------------------------------------------

function mediator(ctx: MediatorContext): MediatorPart {
  const { store, name, act, isBusy } = ctx;
  const reveal = h("button", { type: "button", class: "primary", text: "Reveal the cards", "data-testid": "values-reveal-btn" });
  reveal.addEventListener("click", () => void act(reveal, "values.reveal"));
  const revealHint = h("p", { class: "hint" });
  const controls = ctx.group("Values cards", h("div", { class: "row" }, reveal), revealHint);

  const columns = h("div", { class: "values-side" });
  const revealBox = h("div", { class: "values-reveal", "data-testid": "console-values-reveal" });
  const el = h(
    "section",
    { class: "card values-live", "aria-labelledby": "values-live-title", "data-testid": "values-live" },
    h("h2", { id: "values-live-title", text: "Values cards — both sorts, live" }),
    h("p", { class: "detail", text: "Only you see both sorts until you reveal them; the notes are for you alone." }),
    revealBox,
    columns,
  );

  let shownKey = "";
  return {
    controls,
    el,
    render(view) {
      const phase = valuesOf(view);
      if (!phase) return view.prompt.text;
      enable(reveal, view.may.has("values.reveal"), isBusy);
      setText(revealHint, phase.revealed ? "Revealed to both partners." : "Offered once both partners are done.");
      const notes = store.transcript.filter((e) => e.type === "values.noted");
      const key = JSON.stringify([phase.sorts, phase.revealed, notes.length]);
      if (key !== shownKey) {
        shownKey = key;
        const cards = titles(phase);
        clear(columns);
        for (const p of PARTNERS) {
          const sort = phase.sorts[p] ?? { places: {}, own: [], done: false };
          const theirNotes = notes.filter((e) => str(e, "seat") === p);
          columns.append(
            h(
              "section",
              { class: "values-partner", "data-testid": `values-${p}` },
              h("h3", { text: name(p) }),
              h("p", { class: "values-progress", text: progress(phase, sort) }),
              sortGroups(phase, sort, `sort-${p}`),
              theirNotes.length
                ? h(
                    "div",
                    null,
                    h("h4", { text: "What shaped these values (private to you)" }),
                    h(
                      "ul",
                      { class: "notes-list" },
                      ...theirNotes.map((e) => h("li", null, h("strong", { text: `${titleOf(cards, str(e, "card"))}: ` }), str(e, "text"))),
                    ),
                  )
                : null,
            ),
          );
        }
        clear(revealBox);
        if (phase.revealed) revealBox.append(h("h3", { text: "Revealed, side by side" }), revealGroups(phase, name));
      }
      show(revealBox, phase.revealed !== null);
      if (phase.revealed) return "Values cards: revealed to both partners.";
      const line = PARTNERS.map((p) => `${name(p)}: ${progress(phase, phase.sorts[p] ?? { places: {}, own: [], done: false })}`);
      return `Values cards — ${line.join("; ")}.`;
    },
  };
}

export const VALUES_SORT: View = { partner, mediator };
