// The mediator's live view: presence, phase, timers, the transcript with
// paraphrase attempts, the controls, private notes, the private time-out
// reasons and debrief answers, and the balance of talk.
//
// This is the frame: where the session is, who is here, the Reason field every
// override shares, the phase and session controls, the time-out controls (a
// time-out may stand over any phase), notes, the private list, the transcript
// and the balance. The current phase's view (phases/index.ts) adds its part
// (the lobby's admissions, the dialogue's floor and queue…) and the standing
// overlay's (overlays/index.ts) its own; while an overlay stands, the phase's
// controls make way for the overlay's.

import { Drafts, announce, append, clear, field, h, setText, show, uid } from "./dom";
import { COLOURS, balanceOf, share } from "./balance";
import type { ShareChart } from "./chart";
import { overlayView } from "./overlays";
import { timeOutControls } from "./overlays/time_out";
import { phaseView } from "./phases";
import { MediatorContext, MediatorPart, Overrides, View, specOf } from "./phases/view";
import { PARTNERS, Partner, WireEvent, str } from "./protocol";
import { Store } from "./store";
import { consoleNamer } from "./text";
import {
  Banners,
  StoppedCard,
  Transcript,
  announceChange,
  enable,
  freeze,
  makeActor,
  markReason,
  overrideButton,
  presenceList,
  setLabel,
  thaw,
} from "./widgets";

export interface LiveOptions {
  /** The console can make a new mediator link when this one was revoked or expired. */
  newLink?: () => void;
}

export function mountLive(container: HTMLElement, store: Store, opts: LiveOptions = {}): void {
  // The partners' display names where the session has them (a session of a case).
  const name = consoleNamer(() => store.state?.names);
  const banners = new Banners();
  const stopped = new StoppedCard(store, { seat: "mediator", newLink: opts.newLink });
  const drafts = new Drafts(`${store.session}:mediator`);
  const render = () => update();
  const { act, isBusy } = makeActor(store, banners, render);

  // -- the reason every override shares -------------------------------------------------------
  const reason = h("input", { type: "text", maxLength: 1000, autocomplete: "off", "data-testid": "override-reason" });
  drafts.bind(reason, "reason");
  const reasonHint = h("p", {
    class: "hint",
    text: "Required where a button says “needs a reason” (an override). It is recorded in the log and the report.",
  });
  reason.addEventListener("input", () => reason.removeAttribute("aria-invalid"));
  const overrides: Overrides = {
    send(button, type, fields, needed) {
      const why = reason.value.trim();
      if (needed && !why) {
        // Nothing goes out: the server would refuse it (`reason_required`).
        const label = button.querySelector(".label")?.textContent ?? button.textContent ?? type;
        const message = `“${label}” is an override: it is not sent without a reason. Write the reason under “Reason”; it is kept in the log and the report.`;
        banners.refusal(message);
        announce(message);
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        return;
      }
      void act(button, type, { ...fields, reason: why }, () => drafts.clear(reason, "reason"));
    },
    mark(button, needed) {
      markReason(button, needed);
      if (needed) button.setAttribute("aria-describedby", reasonHint.id);
      else button.removeAttribute("aria-describedby");
    },
  };
  const group = (title: string, ...children: Array<Node | null>) => {
    const id = uid("grp");
    return h("div", { class: "control-group", role: "group", "aria-labelledby": id }, h("h3", { id, text: title }), ...children);
  };
  const ctx: MediatorContext = { store, name, drafts, act, isBusy, overrides, rerender: render, group };

  // -- now ----------------------------------------------------------------------------
  const phaseTitle = h("h2", { id: "live-phase" });
  const stageLine = h("p", { class: "headline", "data-testid": "live-stage" });
  const presence = h("ul", { class: "presence-list" });
  const overlayNow = h("div", { class: "now-slot" });
  const phaseNow = h("div", { class: "now-slot" });
  const timeOut = timeOutControls(ctx);
  const nowCard = h(
    "section",
    { class: "card now", "aria-labelledby": "live-phase" },
    phaseTitle,
    stageLine,
    overlayNow,
    timeOut.now,
    h("h3", { text: "Who is here" }),
    presence,
    phaseNow,
  );

  // -- controls -------------------------------------------------------------------------
  const advance = overrideButton("Next phase", "primary");
  advance.dataset["testid"] = "advance";
  advance.addEventListener("click", () => {
    overrides.send(advance, "phase.advance", {}, store.view?.overrides.has("phase.advance") ?? false);
  });
  const endSession = overrideButton("End the session", "danger");
  endSession.addEventListener("click", () => {
    overrides.send(endSession, "session.end", {}, store.view?.overrides.has("session.end") ?? false);
  });
  const phaseControls = h("div", { class: "controls-slot" });
  const overlayControls = h("div", { class: "controls-slot" });
  const controls = h(
    "section",
    { class: "card controls", "aria-labelledby": "controls-title" },
    h("h2", { id: "controls-title", text: "Controls" }),
    field("Reason", reason, reasonHint),
    phaseControls,
    group("Phase", h("div", { class: "row" }, advance)),
    overlayControls,
    timeOut.controls,
    group("Session", h("div", { class: "row" }, endSession)),
  );

  // -- the phase's and the overlay's parts ------------------------------------------------------
  const parts = new Map<View, MediatorPart>();
  const partCards = h("div", { class: "part-cards" });
  function partOf(view: View, over: boolean): MediatorPart {
    let part = parts.get(view);
    if (!part) {
      part = view.mediator(ctx);
      parts.set(view, part);
      if (part.now) (over ? overlayNow : phaseNow).append(part.now);
      if (part.controls) (over ? overlayControls : phaseControls).append(part.controls);
      if (part.el) partCards.append(part.el);
    }
    return part;
  }

  // -- private: reasons and debrief answers; notes ----------------------------------------------
  const privateList = h("ul", { class: "private-list", "data-testid": "private-list" });
  const privateEmpty = h("p", { class: "detail", text: "Nothing yet." });
  const privateCard = h(
    "section",
    { class: "card private", "aria-labelledby": "private-title" },
    h("h2", { id: "private-title", text: "Private to you" }),
    h("p", { class: "detail", text: "Time-out reasons and debrief answers. Partners never see each other's." }),
    privateList,
    privateEmpty,
  );
  const noteBox = h("textarea", { rows: 3, maxLength: 4000, "data-testid": "note-box" });
  drafts.bind(noteBox, "note");
  const noteBtn = h("button", { type: "button", text: "Add note" });
  const notesList = h("ul", { class: "notes-list", "data-testid": "notes-list" });
  const notesCard = h(
    "section",
    { class: "card notes", "aria-labelledby": "notes-title" },
    h("h2", { id: "notes-title", text: "Private notes" }),
    field("Note (only you see it)", noteBox),
    noteBtn,
    notesList,
  );
  noteBtn.addEventListener("click", () => {
    const text = noteBox.value.trim();
    if (!text) return noteBox.focus();
    void act(noteBtn, "note", { text }, () => drafts.clear(noteBox, "note"));
  });

  // -- balance -----------------------------------------------------------------------------
  const canvas = h("canvas", { role: "img", "aria-label": "Share of statements and words per partner" });
  const balanceTable = h("table", { class: "balance-table" });
  const balanceCard = h(
    "section",
    { class: "card balance", "aria-labelledby": "balance-title" },
    h("h2", { id: "balance-title", text: "Balance" }),
    h("div", { class: "chart-box" }, canvas),
    h("div", { class: "table-wrap" }, balanceTable),
    h("p", {
      class: "hint",
      text: "Counted from the session's record; refused attempts are counted by the server as they happen and kept with the session (they are not events of the record).",
    }),
  );
  let chart: ShareChart | null = null;
  let chartLoading = false;
  let shares: [number[], number[]] = [[0, 0], [0, 0]];
  // Chart.js is loaded only here, so the partner page never downloads it.
  function drawChart(): void {
    if (chart) return chart.update(shares[0], shares[1]);
    if (chartLoading) return;
    chartLoading = true;
    void import("./chart").then(({ ShareChart: Chart }) => {
      chart = new Chart(canvas, ["Statements", "Words"], [COLOURS.partner_a, COLOURS.partner_b]);
      chart.update(shares[0], shares[1]);
    });
  }

  // -- transcript ----------------------------------------------------------------------------
  const transcript = new Transcript(name, () => true, "Transcript");
  const transcriptCard = h(
    "section",
    { class: "card transcript-card", "aria-labelledby": "transcript-title" },
    h("h2", { id: "transcript-title", text: "Transcript" }),
    transcript.el,
  );

  container.replaceChildren(
    stopped.el,
    banners.el,
    h(
      "div",
      { class: "live-grid" },
      h("div", { class: "live-col" }, nowCard, controls),
      h("div", { class: "live-col" }, partCards, transcriptCard, privateCard, notesCard),
      h("div", { class: "live-col" }, balanceCard),
    ),
  );

  // -- rendering ------------------------------------------------------------------------------
  const said = { value: "" };
  let first = true;
  let privateShown = 0;
  let notesShown = 0;

  function update(): void {
    const view = store.view;
    if (!view) return;
    const { state, may } = view;
    // This page no longer takes part (opened in another tab, link revoked…) or is
    // taking the seat back: nothing but the card may act.
    const dead = store.status === "stopped";
    const resuming = store.resuming;
    thaw(container);
    stopped.render();
    banners.render(store);
    const spec = specOf(state);
    setText(phaseTitle, state.ended ? "Session ended" : `Phase ${state.index + 1} of ${state.playbook.phases.length}: ${spec?.title ?? ""}`);

    // The phase's part, and the overlay's over it.
    const phase = phaseView(state.phase.kind);
    const overlay = state.overlay ? overlayView(state.overlay.kind) : null;
    const phasePart = phase ? partOf(phase, false) : null;
    const overlayPart = overlay ? partOf(overlay, true) : null;
    const phaseLine = phasePart?.render(view);
    const overlayLine = overlayPart?.render(view);
    for (const part of parts.values()) {
      if (part.now) show(part.now, part === phasePart || part === overlayPart);
      if (part.controls) show(part.controls, part === overlayPart || (part === phasePart && !overlayPart));
      if (part.el) show(part.el, part === phasePart || part === overlayPart);
    }
    timeOut.render(view);
    const line = state.ended ? "The session has ended." : overlayLine ?? phaseLine ?? view.prompt.text;
    setText(stageLine, line);
    announceChange(said, line, first);

    presenceList(store, name, presence, ["partner_a", "partner_b", "mediator"]);
    for (const li of Array.from(presence.children)) {
      const seat = (li as HTMLElement).dataset["seat"];
      if (seat === "partner_a" || seat === "partner_b") {
        append(li, h("span", { class: "tag", text: state.admitted.includes(seat) ? "admitted" : "in the lobby" }));
      }
    }

    const next = state.playbook.phases[state.index + 1];
    setLabel(advance, phasePart?.advanceLabel?.(next) ?? (next ? `End this phase; start: ${next.title}` : "End this phase (and the session)"));
    enable(advance, may.has("phase.advance"), isBusy);
    overrides.mark(advance, view.overrides.has("phase.advance"));
    enable(endSession, may.has("session.end"), isBusy);
    overrides.mark(endSession, view.overrides.has("session.end"));
    enable(noteBtn, may.has("note"), isBusy);

    // Private lists (append-only, rebuilt on a reset)
    const events = store.transcript;
    const privates = events.filter((e) => e.type === "timeout.reason" || e.type === "debrief.answered");
    if (privates.length < privateShown) {
      clear(privateList);
      privateShown = 0;
    }
    for (; privateShown < privates.length; privateShown += 1) append(privateList, privateItem(privates[privateShown]!));
    show(privateEmpty, privates.length === 0);
    const notes = events.filter((e) => e.type === "note.added");
    if (notes.length < notesShown) {
      clear(notesList);
      notesShown = 0;
    }
    for (; notesShown < notes.length; notesShown += 1) {
      const n = notes[notesShown]!;
      append(notesList, h("li", null, h("time", { text: new Date(n.at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) }), " ", str(n, "text")));
    }

    transcript.render(store);
    renderBalance(events);
    if (dead) freeze(container, [stopped.el]);
    else if (resuming) freeze(container, [stopped.el, ...timeOut.urgent]);
    first = false;
  }

  function privateItem(e: WireEvent): HTMLLIElement {
    const seat = e.type === "timeout.reason" ? str(e, "by") : str(e, "seat");
    if (e.type === "timeout.reason") {
      return h("li", { class: "private-item" }, h("strong", { text: `${name(seat)} — time-out reason: ` }), h("q", { text: str(e, "reason") }));
    }
    const text = str(e, "text");
    return h(
      "li",
      { class: "private-item" },
      h("strong", { text: `${name(seat)} — debrief: ${String(e["rating"])}/10` }),
      text ? " " : "",
      text ? h("q", { text }) : "",
    );
  }

  function refusedText(counts: Record<string, number> | undefined): string {
    const entries = Object.entries(counts ?? {}).sort((x, y) => y[1] - x[1]);
    const total = entries.reduce((sum, [, n]) => sum + n, 0);
    if (total === 0) return "0";
    const top = entries
      .slice(0, 2)
      .map(([code, n]) => `${n} ${code.replace(/_/g, " ")}`)
      .join(", ");
    return `${total} (${top})`;
  }

  function renderBalance(events: readonly WireEvent[]): void {
    const b = balanceOf(events);
    const [sa, sb] = share(b.partner_a.statements, b.partner_b.statements);
    const [wa, wb] = share(b.partner_a.words, b.partner_b.words);
    shares = [
      [sa, wa],
      [sb, wb],
    ];
    drawChart();
    const rows: Array<[string, (p: Partner) => string]> = [
      ["Statements", (p) => `${b[p].statements} (${p === "partner_a" ? sa : sb}%)`],
      ["Words", (p) => `${b[p].words} (${p === "partner_a" ? wa : wb}%)`],
      ["Paraphrase attempts (as listener)", (p) => String(b[p].attempts)],
      [
        "Attempts per statement mirrored",
        (p) => (b[p].mirrored ? (b[p].attempts / b[p].mirrored).toFixed(1) : "—"),
      ],
      ["“Not quite” corrections given", (p) => String(b[p].corrections)],
      ["Time-outs called", (p) => String(b[p].timeouts + (b[p].signals ? ` (+${b[p].signals} signals)` : ""))],
      ["Refused attempts (out of turn and others)", (p) => refusedText(store.refusals[p])],
    ];
    const head = h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", { scope: "col", text: "" }),
        h("th", { scope: "col" }, h("span", { class: "swatch", style: `background:${COLOURS.partner_a}` }), name("partner_a")),
        h("th", { scope: "col" }, h("span", { class: "swatch", style: `background:${COLOURS.partner_b}` }), name("partner_b")),
      ),
    );
    const body = h("tbody");
    for (const [label, value] of rows) {
      append(body, h("tr", null, h("th", { scope: "row", text: label }), ...PARTNERS.map((p) => h("td", { text: value(p) }))));
    }
    const extra = b.mediatorTimeouts + b.scheduledTimeouts;
    balanceTable.replaceChildren(
      h("caption", { text: extra ? `Also: ${b.mediatorTimeouts} time-out(s) by you, ${b.scheduledTimeouts} scheduled.` : "Balance of talk" }),
      head,
      body,
    );
  }

  store.subscribe(render);
  update();
}
