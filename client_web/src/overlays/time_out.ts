// The time-out's views: the break itself (a countdown and a paced-breathing
// guide for partners; the countdown and who called it for the mediator), the
// debrief that follows it, and the mediator's time-out controls, which stand
// over every phase. (The partners' time-out button is the page's own: it is
// there in every state, whatever view is mounted.)

import { announce, field, h, setText, show, uid } from "../dom";
import { debriefCard, debriefControls, debriefHeadline, answeredCount } from "../phases/debrief";
import { MediatorContext, MediatorPart, PartnerContext, PartnerPart, View, overlayOf } from "../phases/view";
import { CONNECTION_ENDED, DebriefOverlay, Partner, TimeOutOverlay, otherPartner } from "../protocol";
import type { SeatView } from "../store";
import { Countdown, enable, overrideButton } from "../widgets";

const TICK_MS = 250;

function timeOutOf(view: SeatView): TimeOutOverlay | null {
  return overlayOf<TimeOutOverlay>(view.state, "time_out");
}

// -- the time-out ------------------------------------------------------------------------

function calledBy(by: string, me: Partner): string {
  if (by === me) return "You called a time-out. Everything is paused.";
  if (by === otherPartner(me)) return "Your partner called a time-out. Everything is paused.";
  if (by === "mediator") return "The mediator called a time-out. Everything is paused.";
  return "A scheduled break. Everything is paused.";
}

function timeOutPartner(ctx: PartnerContext): PartnerPart {
  const { store, me, drafts, act, isBusy } = ctx;
  const countdown = new Countdown(store);
  const timeoutBy = h("p", { class: "detail" });
  const breath = h(
    "div",
    { class: "breath", "aria-hidden": "true" },
    h("div", { class: "breath-circle" }),
    h("p", { class: "breath-words" }, h("span", { class: "in", text: "Breathe in…" }), h("span", { class: "out", text: "…and out" })),
  );
  const extraReason = h("textarea", { rows: 2, maxLength: 1000 });
  drafts.bind(extraReason, "timeout-extra");
  const extraBtn = h("button", { type: "button", text: "Send to the mediator" });
  const privateReason = h(
    "details",
    { class: "private-reason" },
    h("summary", { text: "Tell the mediator privately what's going on (optional)" }),
    field("Only the mediator sees this", extraReason),
    extraBtn,
  );
  const el = h(
    "section",
    { class: "card timeout-card", "aria-labelledby": "timeout-title", "data-testid": "timeout-panel" },
    h("h2", { id: "timeout-title", text: "Time-out" }),
    timeoutBy,
    h("p", { class: "countdown-line" }, "Time left: ", countdown.el),
    breath,
    h("p", { class: "breath-help", text: "Breathe in slowly for 4 seconds, and out for 6. Let your shoulders drop." }),
    privateReason,
  );
  extraBtn.addEventListener("click", () => {
    const reason = extraReason.value.trim();
    if (!reason) return extraReason.focus();
    void act(extraBtn, "timeout.call", { reason }, () => drafts.clear(extraReason, "timeout-extra"));
  });
  window.setInterval(() => {
    if (!el.hidden) countdown.tick();
  }, TICK_MS);
  return {
    el,
    render(view) {
      const overlay = timeOutOf(view);
      if (overlay) {
        countdown.set(overlay.ends_at);
        setText(timeoutBy, calledBy(overlay.by, me));
      }
      // Nothing to tell the mediator from a device that no longer holds the seat.
      show(privateReason, store.status !== "stopped" && !store.resuming);
      enable(extraBtn, view.may.has("timeout.call"), isBusy);
      return view.prompt.stage === "time_out"
        ? { head: "Time-out: everything is paused.", more: "Take a breath. The session resumes with a short debrief." }
        : { head: view.prompt.text, more: "" };
    },
  };
}

function timeOutMediator(ctx: MediatorContext): MediatorPart {
  const countdown = new Countdown(ctx.store);
  const line = h("p", { class: "timeout-line", "data-testid": "live-timeout" }, "Time-out: ", countdown.el, " left");
  const who = h("p", { class: "detail" });
  const now = h("div", null, line, who);
  window.setInterval(() => {
    if (now.isConnected && !now.hidden) countdown.tick();
  }, TICK_MS);
  return {
    now,
    render(view) {
      const overlay = timeOutOf(view);
      if (overlay) {
        countdown.set(overlay.ends_at);
        setText(who, `Called by ${ctx.name(overlay.by)}.`);
      }
      return view.prompt.stage === "time_out" ? "Time-out running: nothing but time-out business is accepted." : view.prompt.text;
    },
  };
}

export const TIME_OUT: View = { partner: timeOutPartner, mediator: timeOutMediator };

// -- the debrief after it ------------------------------------------------------------------

function debriefOf(view: SeatView): DebriefOverlay | null {
  return overlayOf<DebriefOverlay>(view.state, "debrief");
}

export const DEBRIEF_AFTER_TIME_OUT: View = {
  partner(ctx) {
    const card = debriefCard(ctx);
    return {
      el: card.el,
      render(view) {
        card.render(view, debriefOf(view)?.prompts ?? []);
        return debriefHeadline(view, "Debrief: a few questions before you go on.");
      },
    };
  },
  mediator(ctx) {
    const controls = debriefControls(ctx);
    return {
      controls: controls.el,
      render(view) {
        controls.render(view);
        const overlay = debriefOf(view);
        return overlay ? `Debrief after the time-out: ${answeredCount(overlay.answered)}.` : view.prompt.text;
      },
    };
  },
};

// -- the mediator's time-out controls, over every phase ----------------------------------------

const TO_QUEUED = "Time-out queued — it will be sent when the connection is back.";
const TO_NOT_SENT = "The time-out was not sent: this page is no longer connected to the session.";

export interface TimeOutControls extends MediatorPart {
  readonly now: HTMLElement;
  readonly controls: HTMLElement;
  /** What stays usable while the page takes the seat back: starting a time-out. */
  readonly urgent: readonly HTMLElement[];
}

export function timeOutControls(ctx: MediatorContext): TimeOutControls {
  const { store, act, isBusy, overrides } = ctx;
  const minutes = h("input", { type: "number", step: "any", min: "0", inputMode: "decimal" });
  const startTO = h("button", { type: "button", text: "Start a time-out", "data-testid": "start-timeout" });
  // (Announced through the page's live region when it changes.)
  const startNote = h("p", { class: "hint", "data-testid": "start-timeout-note" });
  const endTO = overrideButton("End the time-out");
  const extendBy = h("input", { type: "number", step: "any", min: "0", value: "5", inputMode: "decimal" });
  const extendHint = h("p", { class: "hint", id: uid("extend-hint") });
  extendBy.setAttribute("aria-describedby", extendHint.id);
  const extendTO = h("button", { type: "button", text: "Extend" });
  const scheduleIn = h("input", { type: "number", step: "any", min: "0", value: "20", inputMode: "decimal" });
  const scheduleEvery = h("input", { type: "number", step: "any", min: "0", inputMode: "decimal", placeholder: "once" });
  const scheduleBtn = h("button", { type: "button", text: "Schedule" });
  const unscheduleBtn = h("button", { type: "button", text: "Cancel the scheduled break" });
  const controls = ctx.group(
    "Time-out",
    h("div", { class: "row" }, field("Length (minutes)", minutes), startTO),
    startNote,
    h("div", { class: "row" }, field("Extend by (minutes)", extendBy), extendTO),
    extendHint,
    h("div", { class: "row" }, endTO),
    h("div", { class: "row" }, field("Break in (minutes)", scheduleIn), field("Then every (minutes)", scheduleEvery), scheduleBtn),
    h("div", { class: "row" }, unscheduleBtn),
  );
  const scheduleCountdown = new Countdown(store);
  const scheduleLine = h("p", { class: "detail" });
  window.setInterval(() => scheduleCountdown.tick(), TICK_MS);

  // A time-out started while the connection is down is queued and goes out after the join.
  let startQueued = false;
  let startNoteText = "";
  startTO.addEventListener("click", () => {
    const m = Number(minutes.value);
    if (!store.connection.isLive) {
      startQueued = true;
      startNoteText = TO_QUEUED;
      announce(TO_QUEUED);
    }
    void act(startTO, "timeout.start", minutes.value && m > 0 ? { minutes: m } : {}).then((ack) => {
      startQueued = false;
      startNoteText = !ack.ok && ack.error.code === CONNECTION_ENDED ? TO_NOT_SENT : "";
      ctx.rerender();
    });
  });
  endTO.addEventListener("click", () => {
    overrides.send(endTO, "timeout.end", {}, store.view?.overrides.has("timeout.end") ?? false);
  });
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

  let minutesSet = false;
  return {
    now: scheduleLine,
    controls,
    urgent: [startTO, minutes],
    render(view) {
      const { state, may, hints } = view;
      if (!minutesSet) {
        // The playbook's default length, and its bounds for the browser's own checks.
        minutes.value = String(state.playbook.time_out.default_minutes);
        minutes.min = String(state.playbook.time_out.min_minutes);
        minutes.max = String(state.playbook.time_out.max_minutes);
        minutesSet = true;
      }
      const scheduled = state.timers.find((t) => t.kind === "scheduled_time_out");
      if (scheduled) {
        scheduleCountdown.set(scheduled.due);
        const every = state.schedule?.every_minutes;
        scheduleLine.replaceChildren("Next scheduled break in ", scheduleCountdown.el, every ? ` (every ${every} min)` : "");
      } else {
        scheduleLine.replaceChildren();
      }
      show(scheduleLine, scheduled !== undefined);

      enable(startTO, may.has("timeout.start"), isBusy);
      const dead = store.status === "stopped";
      setText(
        startTO,
        startQueued ? "Time-out queued" : store.offline && !dead ? "Start a time-out (sent when the connection is back)" : "Start a time-out",
      );
      if (store.status === "live" && startNoteText === TO_NOT_SENT) startNoteText = "";
      setText(startNote, startNoteText);
      show(startNote, startNoteText !== "");

      // How much longer the server would let the time-out be made.
      const room = hints["timeout.extend"]?.max_minutes;
      enable(extendTO, may.has("timeout.extend"), isBusy);
      if (room !== undefined) extendBy.max = String(room);
      else extendBy.removeAttribute("max");
      setText(
        extendHint,
        room === undefined ? "" : room > 0 ? `Up to ${formatMinutes(room)} more minutes.` : "It is as long as the playbook allows.",
      );
      show(extendHint, room !== undefined);
      enable(endTO, may.has("timeout.end"), isBusy);
      overrides.mark(endTO, view.overrides.has("timeout.end"));
      enable(scheduleBtn, may.has("timeout.schedule"), isBusy);
      enable(unscheduleBtn, may.has("timeout.unschedule"), isBusy);
      return view.prompt.text;
    },
  };
}

/** 19 → "19", 0.95 → "0.95", 1/3 → "0.33". */
function formatMinutes(m: number): string {
  return String(Math.round(m * 100) / 100);
}
