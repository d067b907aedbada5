// The partner page, phone first: whose turn it is, what I may do now, and a
// time-out button that always works.
//
// This is the frame: the header, where the session is (the headline), the
// banners and the ended card, who is here, the conversation, and the time-out
// bar. The current phase's view (phases/index.ts) and the standing overlay's
// (overlays/index.ts) render the rest, from the seat's view as the server sent
// it; while an overlay stands, the phase's part is hidden under it.

import { Drafts, announce, field, h, setText, show } from "./dom";
import { NOT_CONFIRMED } from "./connection";
import { overlayView } from "./overlays";
import { phaseView } from "./phases";
import { Headline, PartnerContext, PartnerPart, View, specOf } from "./phases/view";
import { CONNECTION_ENDED, Partner, otherPartner } from "./protocol";
import { Store } from "./store";
import { NameCard } from "./names";
import { partnerName, partnerNames } from "./text";
import {
  Banners,
  StoppedCard,
  Transcript,
  announceChange,
  freeze,
  makeActor,
  presenceList,
  presenceWord,
  seatOrder,
  thaw,
} from "./widgets";

const QUEUED = "Time-out queued — it will be sent when the connection is back.";
const QUEUED_AGAIN = "Your time-out is already queued — it will be sent when the connection is back.";
const SENDING = "Sending your time-out…";
const TIMEOUT_NOT_SENT = "Your time-out was not sent: this device is no longer connected to the session.";
const TIMEOUT_NOT_CONFIRMED =
  "Your time-out may not have reached the session: this device was disconnected before the session answered.";
// As the StoppedCard words them (widgets.ts).
const LINK_GONE = new Set(["token_revoked", "token_expired", "token_invalid", "token_missing"]);
const SESSION_GONE = new Set(["session_deleted", "session_not_found"]);

export function mountPartner(root: HTMLElement, store: Store): void {
  const me = store.seat as Partner;
  const partner = otherPartner(me);
  const name = partnerNames(me, () => store.state?.names);
  const drafts = new Drafts(`${store.session}:${me}`);
  const banners = new Banners();
  const stopped = new StoppedCard(store, { seat: "partner" });
  const render = () => update();
  const { act, isBusy } = makeActor(store, banners, render);
  const pieces = new Map<string, unknown>();
  const ctx: PartnerContext = {
    store,
    me,
    drafts,
    act,
    isBusy,
    rerender: render,
    shared<T>(key: string, make: () => T): T {
      if (!pieces.has(key)) pieces.set(key, make());
      return pieces.get(key) as T;
    },
  };

  // -- header --------------------------------------------------------------------
  const title = h("span", { class: "session-title" });
  const seatLabel = h("span", { class: "seat-label", "data-testid": "seat-label" });
  const header = h("header", { class: "topbar" }, h("span", { class: "brand", text: "Accord" }), title, seatLabel);

  // -- where we are --------------------------------------------------------------
  const phaseTitle = h("h1", { class: "phase-title", id: "phase-title" });
  const headline = h("p", { class: "headline", "data-testid": "headline" });
  const detail = h("p", { class: "detail" });
  const statusSlot = h("div", { class: "status-slot" });
  const away = h("p", { class: "away", "data-testid": "away" });
  const turnCard = h("section", { class: "card turn", "aria-labelledby": "phase-title" }, phaseTitle, headline, detail, statusSlot, away);

  // -- the phase's and the overlay's parts -------------------------------------------
  const partSlot = h("div", { class: "parts" });
  const parts = new Map<View, PartnerPart>();
  /** A view's part, made (and put on the page) the first time it is needed, then kept. */
  function partOf(view: View): PartnerPart {
    let part = parts.get(view);
    if (!part) {
      part = view.partner(ctx);
      parts.set(view, part);
      if (part.status) statusSlot.append(part.status);
      if (part.el && !part.el.isConnected) partSlot.append(part.el);
    }
    return part;
  }

  const endedCard = h("section", { class: "card ended-card", "data-testid": "ended" });

  // -- who is here, and the conversation ----------------------------------------------
  const presence = h("ul", { class: "presence-list" });
  const transcript = new Transcript(name, (line) => line.kind !== "system" || line.text !== "Debrief completed");
  const side = h(
    "aside",
    { class: "side" },
    h("section", { class: "card", "aria-labelledby": "who-title" }, h("h2", { id: "who-title", text: "Who is here" }), presence),
    h(
      "section",
      { class: "card", "aria-labelledby": "conv-title" },
      h("h2", { id: "conv-title", text: "Conversation so far" }),
      transcript.el,
    ),
  );

  // -- my display name: I may change it when the server says so (`may`, `hints`) -------------
  const myName = new NameCard(me, act);
  side.append(myName.el);

  // -- the time-out button: always visible, always working ---------------------------------
  const reasonBox = h("input", { type: "text", maxLength: 1000, "data-testid": "timeout-reason", autocomplete: "off" });
  drafts.bind(reasonBox, "timeout-reason");
  const timeoutBig = h("span", { class: "big", text: "Time-out" });
  const timeoutSmall = h("span", { class: "small", text: "Pause everything now" });
  const timeoutBtn = h(
    "button",
    { type: "button", class: "timeout-button", "data-testid": "timeout-button" },
    timeoutBig,
    timeoutSmall,
  );
  // Says what became of a tap that could not go out at once.
  // (Announced through the page's live region when it changes.)
  const timeoutNote = h("p", { class: "timeout-note", "data-testid": "timeout-note" });
  const reasonDetails = h(
    "details",
    { class: "timeout-reason" },
    h("summary", { text: "Add a private reason" }),
    field("Why? Only the mediator sees this (optional)", reasonBox),
  );
  const timeoutBar = h("div", { class: "timeout-bar", role: "region", "aria-label": "Time-out" }, timeoutBtn, reasonDetails, timeoutNote);

  const main = h("main", { class: "partner-main", id: "main" }, h("div", { class: "primary-col" }, turnCard, partSlot, endedCard), side);
  root.replaceChildren(header, h("div", { class: "stopped-wrap" }, stopped.el), banners.el, main, timeoutBar);
  document.body.classList.add("has-timeout-bar");

  // -- wiring -------------------------------------------------------------------------------
  // What became of time-out taps the session has not answered yet: each is
  // queued in the connection (while it is down, until it is back), and the
  // note under the button says so; it never goes silently.
  let unanswered = 0; // time-out calls not answered yet
  let queuedOffline = 0; // of which made while not connected
  let timeoutNoteText = "";
  let timeoutNoteFailed = false;
  let slowTimer: number | undefined;
  const noteTimeout = (text: string, failed = false) => {
    timeoutNoteText = text;
    timeoutNoteFailed = failed;
    if (text) announce(text);
    update();
  };
  timeoutBtn.addEventListener("click", () => {
    // Never disabled while the server takes the safe signal and this device
    // holds the seat: one tap, even while a call is unanswered or the
    // connection is down (it is queued then, and goes out after the next join).
    if (timeoutBtn.disabled) return;
    const reason = reasonBox.value.trim();
    const offline = !store.connection.isLive;
    // A second tap while one waits for the connection adds nothing (but a reason).
    if (offline && queuedOffline > 0 && !reason) return noteTimeout(QUEUED_AGAIN);
    unanswered += 1;
    if (offline) {
      queuedOffline += 1;
      noteTimeout(QUEUED);
    } else {
      // Connected, but no answer within a second: say that it is on its way.
      window.clearTimeout(slowTimer);
      slowTimer = window.setTimeout(() => {
        if (unanswered > 0 && timeoutNoteText === "") noteTimeout(SENDING);
      }, 1_000);
    }
    void act(null, "timeout.call", reason ? { reason } : {}, () => {
      if (reason) drafts.clear(reasonBox, "timeout-reason");
      reasonDetails.open = false;
    }).then((ack) => {
      unanswered -= 1;
      if (offline) queuedOffline -= 1;
      if (!ack.ok && ack.error.code === CONNECTION_ENDED) {
        noteTimeout(ack.error.message === NOT_CONFIRMED ? TIMEOUT_NOT_CONFIRMED : TIMEOUT_NOT_SENT, true);
      } else if (unanswered === 0 && !timeoutNoteFailed) {
        window.clearTimeout(slowTimer);
        noteTimeout("");
      }
    });
  });

  // -- rendering ------------------------------------------------------------------------------
  const said = { value: "" };
  let first = true;

  function update(): void {
    const view = store.view;
    if (!view) return;
    const { state, may } = view;
    // This device no longer takes part (the seat is open elsewhere, the link was
    // revoked…), or is taking the seat back: nothing but the card may act.
    const dead = store.status === "stopped";
    const resuming = store.resuming;
    const offline = store.offline;
    thaw(root);
    setText(title, store.title);
    document.title = `${store.title} — Accord`;
    const mine = state.names?.[me];
    setText(seatLabel, mine ? `You are ${mine}` : `You are ${partnerName(me, null)}`);
    myName.render(view, dead);
    stopped.render();
    banners.render(store);
    presenceList(store, name, presence, seatOrder(me));
    transcript.render(store);

    setText(phaseTitle, state.ended ? "Session ended" : specOf(state)?.title ?? "");
    show(turnCard, !state.ended);

    // The phase's part, and the overlay's over it.
    const phase = phaseView(state.phase.kind);
    const overlay = state.overlay ? overlayView(state.overlay.kind) : null;
    const phasePart = phase ? partOf(phase) : null;
    const overlayPart = overlay ? partOf(overlay) : null;
    const phaseSays = phasePart?.render(view);
    const overlaySays = overlayPart?.render(view);
    const shown = (overlayPart ?? phasePart)?.el;
    for (const part of parts.values()) {
      if (part.status) show(part.status, part === phasePart && !overlayPart);
      if (part.el) show(part.el, part.el === shown);
    }

    const says: Headline = dead
      ? { head: "Not connected on this device.", more: "Below is how the session stood when this device was last connected." }
      : state.ended
        ? { head: "The session has ended.", more: "" }
        : overlaySays ?? phaseSays ?? { head: view.prompt.text, more: "" };
    setText(headline, says.head);
    setText(detail, says.more);
    if (!dead) announceChange(said, says.head, first);

    // Who is not here (the full list is further down; on a phone, this is what matters)
    const missing = store.status !== "live" ? [] : [partner, "mediator" as const].filter((s) => store.presence[s] !== "joined");
    const awayText = missing
      .map((s) => `${name(s)}: ${presenceWord(store.presence[s])}`)
      .join(" · ");
    setText(away, awayText);
    show(away, awayText !== "");

    // Ended
    show(endedCard, state.ended);
    if (state.ended) {
      const end = store.latest("session.ended");
      const reason = end && typeof end["reason"] === "string" && end["reason"] ? ` The mediator noted: “${end["reason"]}”` : "";
      endedCard.replaceChildren(
        h("h2", { text: "The session has ended" }),
        h("p", { text: `Thank you for taking part.${reason}` }),
      );
    }

    // The time-out button: always there, and it always does what it says. The
    // server takes the safe signal in every state but the end; only that, or
    // this device no longer holding the seat, disables it, and then its label
    // says so.
    const code = store.stopCode;
    const canCall = may.has("timeout.call");
    timeoutBtn.disabled = dead || !canCall;
    setText(timeoutBig, dead && !state.ended ? "Time-out unavailable on this device" : "Time-out");
    setText(
      timeoutSmall,
      state.ended
        ? "The session has ended"
        : dead
          ? code === "superseded"
            ? "Use the device that has the session, or tap “Use this device” above"
            : code && LINK_GONE.has(code)
              ? "This link no longer works — ask your mediator for a new link"
              : code && SESSION_GONE.has(code)
                ? "This session no longer exists"
                : "Not connected — tap “Connect again” above"
          : !canCall
            ? "Not available right now"
            : queuedOffline > 0
              ? "Queued — it will be sent as soon as the connection is back"
              : offline
                ? "Not connected — will be sent as soon as the connection is back"
                : state.overlay?.kind === "time_out"
                  ? "Signal again"
                  : "Pause everything now",
    );
    show(reasonDetails, canCall && !dead);
    // A failure note stays until this device is connected again.
    if (timeoutNoteFailed && store.status === "live") {
      timeoutNoteText = "";
      timeoutNoteFailed = false;
    }
    setText(timeoutNote, timeoutNoteText);
    show(timeoutNote, timeoutNoteText !== "");
    if (dead) freeze(root, [stopped.el]);
    else if (resuming) freeze(root, [stopped.el, ...(canCall ? [timeoutBtn, reasonDetails] : [])]);
    first = false;
  }

  store.subscribe(render);
  update();
}

export function partnerWaiting(root: HTMLElement, message: string, stopped = false): void {
  root.replaceChildren(
    h("header", { class: "topbar" }, h("span", { class: "brand", text: "Accord" })),
    h(
      "main",
      { class: "center" },
      h(
        "section",
        { class: "card" },
        h("h1", { text: stopped ? "Cannot join" : "Joining…" }),
        h("p", { role: stopped ? "alert" : "status", text: message }),
      ),
    ),
  );
}
