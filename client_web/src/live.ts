// The mediator's live view: presence, phase, floor and queue, timers, the
// transcript with paraphrase attempts, every control, private notes, the
// private time-out reasons and debrief answers, and the balance of talk.

import { Drafts, append, clear, field, h, setText, show, uid } from "./dom";
import { COLOURS, balanceOf, share } from "./balance";
import type { ShareChart } from "./chart";
import { currentSpec } from "./model";
import { PARTNERS, Partner, WireEvent, str } from "./protocol";
import { Store } from "./store";
import { consoleNames } from "./text";
import { Banners, Countdown, Transcript, announceChange, enable, makeActor, presenceList } from "./widgets";

const STAGES: Record<string, string> = {
  idle: "nobody holds the floor",
  speaking: "speaking",
  awaiting_paraphrase: "waiting for the paraphrase",
  awaiting_answer: "waiting for the answer to a question",
  awaiting_confirmation: "waiting for the speaker to confirm the paraphrase",
  confirmed: "paraphrase confirmed: more, or yield",
  reflecting: "the listener reflects",
};
const GATED = new Set(["awaiting_paraphrase", "awaiting_answer", "awaiting_confirmation", "reflecting"]);

export function mountLive(container: HTMLElement, store: Store): void {
  const name = consoleNames;
  const banners = new Banners();
  const drafts = new Drafts(`${store.session}:mediator`);
  const { act, isBusy } = makeActor(store, banners, () => update());

  // -- now ----------------------------------------------------------------------------
  const phaseTitle = h("h2", { id: "live-phase" });
  const stageLine = h("p", { class: "headline", "data-testid": "live-stage" });
  const presence = h("ul", { class: "presence-list" });
  const queueList = h("ol", { class: "queue-list", "aria-label": "Queue for the floor" });
  const queueEmpty = h("p", { class: "detail", text: "Nobody is waiting for the floor." });
  const countdown = new Countdown(store);
  const timeoutLine = h("p", { class: "timeout-line", "data-testid": "live-timeout" }, "Time-out: ", countdown.el, " left");
  const timeoutWho = h("p", { class: "detail" });
  const scheduleLine = h("p", { class: "detail" });
  const scheduleCountdown = new Countdown(store);
  const nowCard = h(
    "section",
    { class: "card now", "aria-labelledby": "live-phase" },
    phaseTitle,
    stageLine,
    timeoutLine,
    timeoutWho,
    h("p", { class: "detail" }, scheduleLine),
    h("h3", { text: "Who is here" }),
    presence,
    h("h3", { text: "Queue" }),
    queueList,
    queueEmpty,
  );

  // -- controls -------------------------------------------------------------------------
  const reason = h("input", { type: "text", maxLength: 1000, autocomplete: "off", "data-testid": "override-reason" });
  drafts.bind(reason, "reason");
  const btn = (text: string, cls = "") => h("button", { type: "button", class: cls, text });
  const admitA = btn("Admit Partner A");
  const admitB = btn("Admit Partner B");
  const advance = btn("Next phase", "primary");
  const grantA = btn("Give the floor to Partner A");
  const grantB = btn("Give the floor to Partner B");
  const revoke = btn("Take the floor back");
  const waive = btn("Waive the paraphrase");
  const minutes = h("input", { type: "number", step: "any", min: "0", inputMode: "decimal" });
  const startTO = btn("Start a time-out");
  const endTO = btn("End the time-out");
  const extendBy = h("input", { type: "number", step: "any", min: "0", value: "5", inputMode: "decimal" });
  const extendTO = btn("Extend");
  const scheduleIn = h("input", { type: "number", step: "any", min: "0", value: "20", inputMode: "decimal" });
  const scheduleEvery = h("input", { type: "number", step: "any", min: "0", inputMode: "decimal", placeholder: "once" });
  const scheduleBtn = btn("Schedule");
  const unscheduleBtn = btn("Cancel the scheduled break");
  const skipDebrief = btn("Skip the debrief");
  const endSession = btn("End the session", "danger");

  const group = (title: string, ...children: Array<Node | null>) => {
    const id = uid("grp");
    return h("div", { class: "control-group", role: "group", "aria-labelledby": id }, h("h3", { id, text: title }), ...children);
  };
  const controls = h(
    "section",
    { class: "card controls", "aria-labelledby": "controls-title" },
    h("h2", { id: "controls-title", text: "Controls" }),
    field(
      "Reason",
      reason,
      "Required for overrides (granting out of turn, taking the floor back, waiving, skipping, ending early). It is recorded in the log and the report.",
    ),
    group("Lobby", h("div", { class: "row" }, admitA, admitB)),
    group("Phase", h("div", { class: "row" }, advance)),
    group("Floor", h("div", { class: "row" }, grantA, grantB), h("div", { class: "row" }, revoke, waive)),
    group(
      "Time-out",
      h("div", { class: "row" }, field("Length (minutes)", minutes), startTO),
      h("div", { class: "row" }, field("Extend by (minutes)", extendBy), extendTO, endTO),
      h("div", { class: "row" }, field("Break in (minutes)", scheduleIn), field("Then every (minutes)", scheduleEvery), scheduleBtn),
      h("div", { class: "row" }, unscheduleBtn),
    ),
    group("Debrief", h("div", { class: "row" }, skipDebrief)),
    group("Session", h("div", { class: "row" }, endSession)),
  );

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
  const noteBtn = btn("Add note");
  const notesList = h("ul", { class: "notes-list", "data-testid": "notes-list" });
  const notesCard = h(
    "section",
    { class: "card notes", "aria-labelledby": "notes-title" },
    h("h2", { id: "notes-title", text: "Private notes" }),
    field("Note (only you see it)", noteBox),
    noteBtn,
    notesList,
  );

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
    banners.el,
    h(
      "div",
      { class: "live-grid" },
      h("div", { class: "live-col" }, nowCard, controls),
      h("div", { class: "live-col" }, transcriptCard, privateCard, notesCard),
      h("div", { class: "live-col" }, balanceCard),
    ),
  );

  // -- wiring ---------------------------------------------------------------------------------
  const why = () => reason.value.trim();
  const clearReason = () => drafts.clear(reason, "reason");
  const withReason = (button: HTMLButtonElement, type: string, fields: Record<string, unknown> = {}) =>
    void act(button, type, { ...fields, reason: why() }, clearReason);
  admitA.addEventListener("click", () => void act(admitA, "admit", { seat: "partner_a" }));
  admitB.addEventListener("click", () => void act(admitB, "admit", { seat: "partner_b" }));
  advance.addEventListener("click", () => withReason(advance, "phase.advance"));
  grantA.addEventListener("click", () => withReason(grantA, "floor.grant", { seat: "partner_a" }));
  grantB.addEventListener("click", () => withReason(grantB, "floor.grant", { seat: "partner_b" }));
  revoke.addEventListener("click", () => withReason(revoke, "floor.revoke"));
  waive.addEventListener("click", () => withReason(waive, "paraphrase.waive"));
  startTO.addEventListener("click", () => {
    const m = Number(minutes.value);
    void act(startTO, "timeout.start", minutes.value && m > 0 ? { minutes: m } : {});
  });
  endTO.addEventListener("click", () => withReason(endTO, "timeout.end"));
  extendTO.addEventListener("click", () => void act(extendTO, "timeout.extend", { minutes: Number(extendBy.value) }));
  scheduleBtn.addEventListener("click", () => {
    const inMin = Number(scheduleIn.value);
    const every = Number(scheduleEvery.value);
    const fields: Record<string, unknown> = {};
    if (scheduleIn.value && inMin > 0) fields["at"] = store.now() + inMin * 60;
    if (scheduleEvery.value && every > 0) fields["every_minutes"] = every;
    if (minutes.value && Number(minutes.value) > 0) fields["minutes"] = Number(minutes.value);
    void act(scheduleBtn, "timeout.schedule", fields);
  });
  unscheduleBtn.addEventListener("click", () => void act(unscheduleBtn, "timeout.unschedule"));
  skipDebrief.addEventListener("click", () => withReason(skipDebrief, "debrief.skip"));
  endSession.addEventListener("click", () => withReason(endSession, "session.end"));
  noteBtn.addEventListener("click", () => {
    const text = noteBox.value.trim();
    if (!text) return noteBox.focus();
    void act(noteBtn, "note", { text }, () => drafts.clear(noteBox, "note"));
  });

  // -- rendering ------------------------------------------------------------------------------
  const said = { value: "" };
  let first = true;
  let minutesSet = false;
  let privateShown = 0;
  let notesShown = 0;

  function update(): void {
    const state = store.state;
    if (!state) return;
    const may = store.may;
    banners.render(store);
    const spec = currentSpec(state);
    const phase = state.phase;
    const overlay = state.overlay;
    const d = phase.kind === "dialogue" ? phase : null;

    setText(phaseTitle, state.ended ? "Session ended" : `Phase ${state.index + 1} of ${state.playbook.phases.length}: ${spec?.title ?? ""}`);
    let line: string;
    if (state.ended) line = "The session has ended.";
    else if (overlay?.kind === "time_out") line = "Time-out running: nothing but time-out business is accepted.";
    else if (overlay?.kind === "debrief") line = `Debrief after the time-out: ${overlay.answered.length} of 2 answered.`;
    else if (phase.kind === "lobby") line = `Lobby: admitted ${state.admitted.length ? state.admitted.map(name).join(" and ") : "nobody yet"}.`;
    else if (phase.kind === "debrief") line = `Closing debrief: ${phase.answered.length} of 2 answered.`;
    else if (d && d.speaker) line = `Floor: ${name(d.speaker)} — ${STAGES[d.stage] ?? d.stage}${d.attempts ? ` (paraphrase attempt ${d.attempts})` : ""}.`;
    else line = "Floor: free — nobody holds it.";
    setText(stageLine, line);
    announceChange(said, line, first);

    presenceList(store, name, presence, ["partner_a", "partner_b", "mediator"]);
    for (const li of Array.from(presence.children)) {
      const seat = (li as HTMLElement).dataset["seat"];
      if (seat === "partner_a" || seat === "partner_b") {
        append(li, h("span", { class: "tag", text: state.admitted.includes(seat) ? "admitted" : "in the lobby" }));
      }
    }

    // Queue, with reordering
    clear(queueList);
    const queue = d?.queue ?? [];
    queue.forEach((p, i) => {
      const up = h("button", { type: "button", class: "small", text: "Move up", "aria-label": `Move ${name(p)} up` });
      up.disabled = i === 0 || !may.has("floor.reorder");
      up.addEventListener("click", () => {
        const next = [...queue];
        next.splice(i, 1);
        next.splice(i - 1, 0, p);
        withReason(up, "floor.reorder", { queue: next });
      });
      append(queueList, h("li", null, name(p), " ", up));
    });
    show(queueEmpty, queue.length === 0);

    // Timers
    show(timeoutLine, overlay?.kind === "time_out");
    show(timeoutWho, overlay?.kind === "time_out");
    if (overlay?.kind === "time_out") {
      countdown.set(overlay.ends_at);
      setText(timeoutWho, `Called by ${name(overlay.by)}.`);
    }
    const scheduled = state.timers.find((t) => t.kind === "scheduled_time_out");
    if (scheduled) {
      scheduleCountdown.set(scheduled.due);
      scheduleLine.replaceChildren("Next scheduled break in ", scheduleCountdown.el, state.schedule?.every_minutes ? ` (every ${state.schedule.every_minutes} min)` : "");
    } else {
      scheduleLine.replaceChildren();
    }

    // Controls
    if (!minutesSet) {
      minutes.value = String(state.playbook.time_out.default_minutes);
      minutes.min = String(state.playbook.time_out.min_minutes);
      minutes.max = String(state.playbook.time_out.max_minutes);
      minutesSet = true;
    }
    enable(admitA, may.has("admit") && !state.admitted.includes("partner_a"), isBusy);
    enable(admitB, may.has("admit") && !state.admitted.includes("partner_b"), isBusy);
    const next = state.playbook.phases[state.index + 1];
    setText(advance, phase.kind === "lobby" ? `Start: ${next?.title ?? "next phase"}` : next ? `End this phase; start: ${next.title}` : "End this phase (and the session)");
    enable(advance, may.has("phase.advance"), isBusy);
    const free = d !== null && d.speaker === null;
    enable(grantA, may.has("floor.grant") && free, isBusy);
    enable(grantB, may.has("floor.grant") && free, isBusy);
    enable(revoke, may.has("floor.revoke") && d !== null && d.speaker !== null, isBusy);
    enable(waive, may.has("paraphrase.waive") && d !== null && GATED.has(d.stage), isBusy);
    const inTimeOut = overlay?.kind === "time_out";
    enable(startTO, may.has("timeout.start") && !inTimeOut, isBusy);
    enable(endTO, may.has("timeout.end") && inTimeOut, isBusy);
    enable(extendTO, may.has("timeout.extend") && inTimeOut, isBusy);
    enable(scheduleBtn, may.has("timeout.schedule"), isBusy);
    enable(unscheduleBtn, may.has("timeout.unschedule"), isBusy);
    const debriefOpen = overlay?.kind === "debrief" || (overlay === null && phase.kind === "debrief");
    enable(skipDebrief, may.has("debrief.skip") && debriefOpen, isBusy);
    enable(endSession, may.has("session.end"), isBusy);
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
        h("th", { scope: "col" }, h("span", { class: "swatch", style: `background:${COLOURS.partner_a}` }), "Partner A"),
        h("th", { scope: "col" }, h("span", { class: "swatch", style: `background:${COLOURS.partner_b}` }), "Partner B"),
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

  window.setInterval(() => {
    countdown.tick();
    scheduleCountdown.tick();
  }, 250);
  store.subscribe(() => update());
  update();
}
