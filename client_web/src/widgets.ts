// Pieces shared by the partner page and the mediator's live view.

import { NOT_CONFIRMED } from "./connection";
import { Store } from "./store";
import { Drafts, announce, append, clear, formatClock, h, setText, show, uid } from "./dom";
import { Line, Namer, describe } from "./text";
import { Ack, CONNECTION_ENDED, Partner, Seat } from "./protocol";

/** The banner for reconnecting, and one for refusals. (A connection that
 * stopped for good is shown by the StoppedCard instead.) */
export class Banners {
  readonly el: HTMLDivElement;
  private readonly reconnect: HTMLDivElement;
  private readonly reconnectWhy: HTMLSpanElement;
  private readonly error: HTMLDivElement;

  constructor() {
    this.reconnectWhy = h("span", { class: "banner-why", hidden: true });
    this.reconnect = h(
      "div",
      { class: "banner banner-warn", role: "status", hidden: true, "data-testid": "reconnect-banner" },
      h("strong", { text: "Connection lost — reconnecting…" }),
      " ",
      this.reconnectWhy,
      " Keep typing if you like: nothing you wrote is lost, and what you send goes out when the connection is back.",
    );
    this.error = h("div", { class: "banner banner-error", role: "alert", hidden: true, "data-testid": "refusal" });
    this.el = h("div", { class: "banners" }, this.reconnect, this.error);
  }

  /** The refusal shown is a local one (the connection ended): gone once live again. */
  private untilLive = false;

  render(store: Store): void {
    show(this.reconnect, store.status === "reconnecting");
    // Why the server refused to connect, when it said (e.g. too_many_connections).
    const why = store.status === "reconnecting" ? store.statusMessage : "";
    setText(this.reconnectWhy, why);
    show(this.reconnectWhy, why !== "");
    if (this.untilLive && store.status === "live") this.refusal(null);
  }

  refusal(message: string | null, untilLive = false): void {
    this.untilLive = message !== null && untilLive;
    show(this.error, message !== null);
    setText(this.error, message ?? "");
    if (message) this.error.scrollIntoView({ block: "nearest" });
  }
}

/** Codes that mean the invite link itself no longer works. */
const LINK_GONE = new Set(["token_revoked", "token_expired", "token_invalid", "token_missing"]);
const SESSION_GONE = new Set(["session_deleted", "session_not_found"]);

export interface StoppedCardOptions {
  /** Whose page: the wording differs (a partner asks the mediator for a new link). */
  seat: "partner" | "mediator";
  /** The console can make the mediator a new link itself. */
  newLink?: () => void;
}

/**
 * The ended state, at the top of the page: this device no longer takes part
 * (the seat was opened elsewhere, the link was revoked or expired…), said
 * plainly, with the one thing that can be done about it here. While it is
 * shown, every other control on the page is disabled (see `freeze`).
 */
export class StoppedCard {
  readonly el: HTMLElement;
  /** "Use this device" / "Connect again": takes the seat back here. */
  readonly takeBack: HTMLButtonElement;
  /** Console only: a new mediator link. */
  readonly newLinkBtn: HTMLButtonElement;
  private readonly alert: HTMLDivElement;
  private readonly heading: HTMLHeadingElement;
  private shown = "";

  constructor(
    private readonly store: Store,
    private readonly opts: StoppedCardOptions,
  ) {
    const id = uid("stopped");
    this.heading = h("h2", { id, tabindex: "-1" });
    this.alert = h("div", { class: "stopped-body" });
    this.takeBack = h("button", { type: "button", class: "primary", "data-testid": "use-this-device" });
    this.newLinkBtn = h("button", { type: "button", class: "primary", text: "Reconnect with a new link" });
    this.el = h(
      "section",
      { class: "card stopped-card", hidden: true, "aria-labelledby": id, "data-testid": "stopped" },
      this.heading,
      this.alert,
      h("div", { class: "row" }, this.takeBack, this.newLinkBtn),
    );
    this.takeBack.addEventListener("click", () => {
      this.takeBack.disabled = true;
      store.resume();
    });
    this.newLinkBtn.addEventListener("click", () => {
      this.newLinkBtn.disabled = true;
      opts.newLink?.();
    });
  }

  /** True while this device does not take part (stopped), or is taking the seat back. */
  get visible(): boolean {
    return !this.el.hidden;
  }

  render(): void {
    const store = this.store;
    const code = store.stopCode;
    const resuming = store.resuming;
    const key = code ? `stopped:${code}` : resuming ? "connecting" : "";
    if (key === this.shown) return;
    this.shown = key;
    show(this.el, key !== "");
    if (!key) return;
    const mediator = this.opts.seat === "mediator";
    let title: string;
    let lines: string[];
    let takeBack: string | null = null;
    let newLink = false;
    if (resuming) {
      title = "Connecting this device…";
      lines = ["Taking the seat back on this device. The other device or tab will stop."];
    } else if (code === "superseded") {
      title = mediator ? "Open in another tab or device" : "Open on another device";
      lines = [
        mediator
          ? "This session is now open in another tab or on another device. Nothing you do here is sent."
          : "This seat is now open on another device or tab. Nothing you do here is sent.",
        "To carry on here instead, tap “Use this device”: the other one stops.",
      ];
      takeBack = "Use this device";
    } else if (code && LINK_GONE.has(code)) {
      const why =
        code === "token_revoked" ? "The mediator revoked it." : code === "token_expired" ? "It expired." : "The server does not know it.";
      title = "This link no longer works";
      if (mediator) {
        lines = [
          `${code === "token_revoked" ? "This mediator link was revoked." : code === "token_expired" ? "This mediator link expired." : "The server does not know this mediator link."} Nothing you do here is sent.`,
          this.opts.newLink ? "Reconnect with a new link to carry on." : "Open the session from your console to get a new link.",
        ];
        newLink = this.opts.newLink !== undefined;
      } else {
        lines = [`${why} Nothing you do here is sent.`, "Ask your mediator for a new link."];
      }
    } else if (code && SESSION_GONE.has(code)) {
      title = "This session no longer exists";
      lines = [mediator ? "It was deleted. Nothing you do here is sent." : "It was deleted. Nothing you do here is sent. Ask your mediator if you need a new one."];
    } else {
      title = "Not connected";
      lines = [`${store.statusMessage || "The connection was closed."} Nothing you do here is sent.`];
      takeBack = "Connect again";
    }
    // The whole card is the alert (a status while connecting), filled afresh
    // each time it changes, so screen readers announce it.
    this.el.setAttribute("role", resuming ? "status" : "alert");
    this.alert.replaceChildren();
    setText(this.heading, title);
    this.alert.append(...lines.map((line, i) => h("p", { class: i === 0 ? "stopped-lead" : "", text: line })));
    this.el.classList.toggle("stopped-connecting", resuming);
    show(this.takeBack, takeBack !== null);
    setText(this.takeBack, takeBack ?? "");
    this.takeBack.disabled = false;
    show(this.newLinkBtn, newLink);
    this.newLinkBtn.disabled = false;
    if (!resuming) {
      // Wherever the person was on the page, bring them to the news.
      // (Focus moves too: the control it was on is about to be disabled.) Near
      // the top of the page, show the page's header with it (who you are).
      const top = this.el.getBoundingClientRect().top + window.scrollY;
      if (top < window.innerHeight / 3) window.scrollTo({ top: 0 });
      else this.el.scrollIntoView({ block: "start" });
      this.heading.focus({ preventScroll: true });
    }
  }
}

const CONTROLS = "button, input, textarea, select";

/**
 * Disable every control under `root` but those inside `except` (the card that
 * says why). `thaw` gives back exactly what `freeze` took; call it before the
 * view's own enable() calls, and `freeze` after them, on every render.
 */
export function freeze(root: ParentNode, except: ReadonlyArray<Element>): void {
  for (const el of Array.from(root.querySelectorAll<HTMLButtonElement>(CONTROLS))) {
    if (except.some((x) => x.contains(el))) continue;
    if (!el.disabled) {
      el.dataset["frozen"] = "1";
      el.disabled = true;
    }
  }
}

export function thaw(root: ParentNode): void {
  for (const el of Array.from(root.querySelectorAll<HTMLButtonElement>("[data-frozen]"))) {
    delete el.dataset["frozen"];
    el.disabled = false;
  }
}

/** What a command is, in words, for "… was not sent". */
const WHAT: Record<string, string> = {
  statement: "Your statement",
  paraphrase: "Your paraphrase",
  question: "Your question",
  answer: "Your answer",
  reflect: "Your reflection",
  "paraphrase.confirm": "Your “That's it”",
  "paraphrase.correct": "Your “Not quite”",
  yield: "Yielding the floor",
  "floor.request": "Your request to speak",
  "floor.withdraw": "Withdrawing your request",
  "debrief.answer": "Your debrief answer",
  "timeout.call": "Your time-out",
  "timeout.start": "The time-out",
  note: "Your note",
};

/** Sends a command from a button: busy while unanswered, refusals shown as sentences. */
export function makeActor(store: Store, banners: Banners, rerender: () => void) {
  const busy = new Set<HTMLButtonElement>();
  async function act(
    button: HTMLButtonElement | null,
    type: string,
    fields: Record<string, unknown> = {},
    onOk?: () => void,
  ): Promise<Ack> {
    if (button) {
      busy.add(button);
      button.setAttribute("aria-busy", "true");
      button.disabled = true;
    }
    const ack = await store.send(type, fields);
    if (button) {
      busy.delete(button);
      button.removeAttribute("aria-busy");
    }
    if (ack.ok) {
      banners.refusal(null);
      onOk?.();
    } else if (ack.error.code === CONNECTION_ENDED) {
      // Say what was not sent (its button may be hidden by now); it is not lost:
      // what was typed stays in its box.
      const what = WHAT[type] ?? "This";
      const message =
        ack.error.message === NOT_CONFIRMED
          ? `${what} was not confirmed: this device was disconnected from the session before it answered.`
          : `${what} was not sent: this device is no longer connected to the session.`;
      banners.refusal(message, true);
      announce(message);
    } else {
      banners.refusal(ack.error.message);
      announce(ack.error.message);
    }
    rerender();
    return ack;
  }
  return { act, isBusy: (b: HTMLButtonElement) => busy.has(b) };
}

/** Enable a control; a button stays disabled while its command is unanswered. */
export function enable(
  el: HTMLButtonElement | HTMLTextAreaElement | HTMLInputElement,
  on: boolean,
  isBusy?: (b: HTMLButtonElement) => boolean,
): void {
  const busy = el instanceof HTMLButtonElement && isBusy ? isBusy(el) : false;
  el.disabled = !on || busy;
}

/**
 * A button for a command that may be an override: its label, and a tag that
 * says "needs a reason" while the server lists the command in `overrides`
 * (see `markReason`). Change its label with `setLabel`, not its text.
 */
export function overrideButton(text: string, cls = ""): HTMLButtonElement {
  return h(
    "button",
    { type: "button", class: cls ? `override ${cls}` : "override", "data-needs-reason": "false" },
    h("span", { class: "label", text }),
    h("span", { class: "reason-tag", hidden: true, text: "needs a reason" }),
  );
}

export function setLabel(button: HTMLButtonElement, text: string): void {
  const label = button.querySelector(".label");
  setText(label ?? button, text);
}

/** Shows on an override button whether it needs a reason now. */
export function markReason(button: HTMLButtonElement, needed: boolean): void {
  button.dataset["needsReason"] = String(needed);
  const tag = button.querySelector<HTMLElement>(".reason-tag");
  if (tag) show(tag, needed);
}

/** The transcript as an ordered list, appended to as events come. */
export class Transcript {
  readonly el: HTMLOListElement;
  private shown = 0;
  private firstSeq = -1;

  constructor(
    private readonly name: Namer,
    private readonly filter: (line: Line) => boolean = () => true,
    label = "Conversation so far",
  ) {
    // Focusable, so keyboard users can scroll it.
    this.el = h("ol", { class: "transcript", "aria-label": label, tabindex: "0" });
  }

  render(store: Store): void {
    const events = store.transcript;
    const first = events.length ? events[0]!.seq : -1;
    if (events.length < this.shown || first !== this.firstSeq) {
      clear(this.el);
      this.shown = 0;
      this.firstSeq = first;
    }
    const atEnd = this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 40;
    const before = this.el.childElementCount;
    for (; this.shown < events.length; this.shown += 1) {
      const e = events[this.shown]!;
      const line = describe(e, this.name);
      if (!line || !this.filter(line)) continue;
      const time = new Date(e.at * 1000);
      this.el.appendChild(
        h(
          "li",
          { class: `line line-${line.kind}`, "data-seq": e.seq, "data-type": e.type },
          h("time", {
            datetime: time.toISOString(),
            text: time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
          }),
          " ",
          h("strong", { text: line.who }),
          " ",
          line.text,
          line.quote ? h("q", { text: line.quote }) : null,
        ),
      );
    }
    // Follow the conversation unless the reader scrolled back to look at something.
    if (atEnd && this.el.childElementCount !== before) this.el.scrollTop = this.el.scrollHeight;
  }
}

/** Who is here: one row per seat. */
export function presenceList(store: Store, name: Namer, el: HTMLUListElement, order: Seat[]): void {
  clear(el);
  for (const seat of order) {
    let status: string;
    let cls: string;
    if (seat === store.seat) {
      status =
        store.status === "live"
          ? "here"
          : store.stopCode === "superseded"
            ? "open on another device or tab"
            : store.status === "stopped"
              ? "disconnected"
              : "reconnecting…";
      cls = store.status === "live" ? "joined" : "reconnecting";
    } else if (store.status !== "live") {
      status = "unknown while you are offline";
      cls = "unknown";
    } else {
      status = presenceWord(store.presence[seat]);
      cls = store.presence[seat] ?? "absent";
    }
    append(
      el,
      h(
        "li",
        { class: `presence presence-${cls}`, "data-seat": seat },
        h("span", { class: "dot", "aria-hidden": "true" }),
        h("span", { class: "who", text: name(seat) }),
        " ",
        h("span", { class: "status", text: status }),
      ),
    );
  }
}

export function presenceWord(p: string | undefined): string {
  return p === "joined" ? "here" : p === "reconnecting" ? "reconnecting…" : p === "left" ? "left" : "not here yet";
}

/** A countdown to a deadline (server clock), refreshed by `tick`. */
export class Countdown {
  readonly el: HTMLSpanElement;
  private endsAt = 0;
  constructor(private readonly store: Store) {
    this.el = h("span", { class: "countdown", role: "timer", "aria-live": "off", "data-testid": "countdown" });
  }
  set(endsAt: number): void {
    this.endsAt = endsAt;
    this.tick();
  }
  tick(): void {
    const left = this.endsAt - this.store.now();
    setText(this.el, left > 0 ? formatClock(left) : "0:00");
  }
}

/** A 0–10 rating plus free text, for a debrief. */
export class DebriefForm {
  readonly el: HTMLFormElement;
  private readonly legend: HTMLLegendElement;
  private readonly textLabel: HTMLLabelElement;
  readonly text: HTMLTextAreaElement;
  readonly submit: HTMLButtonElement;
  private readonly radios: HTMLInputElement[] = [];

  constructor(drafts: Drafts, onSubmit: (rating: number, text: string) => void) {
    this.legend = h("legend");
    const scale = h("div", { class: "scale" });
    for (let i = 0; i <= 10; i += 1) {
      const radio = h("input", { type: "radio", name: "rating", value: String(i), id: `rating-${i}` });
      this.radios.push(radio);
      append(scale, h("label", { class: "scale-option", for: radio.id }, radio, h("span", { text: String(i) })));
    }
    this.text = h("textarea", { id: "debrief-text", rows: 3, maxLength: 4000 });
    drafts.bind(this.text, "debrief");
    this.textLabel = h("label", { for: "debrief-text" });
    this.submit = h("button", { type: "submit", class: "primary", text: "Send my answers" });
    this.el = h(
      "form",
      {
        class: "debrief-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const chosen = this.radios.find((r) => r.checked);
          if (!chosen) {
            this.radios[0]?.focus();
            return;
          }
          onSubmit(Number(chosen.value), this.text.value.trim());
        },
      },
      h(
        "fieldset",
        null,
        this.legend,
        h("div", { class: "scale-ends", "aria-hidden": "true" }, h("span", { text: "0 calm" }), h("span", { text: "10 overwhelmed" })),
        scale,
      ),
      h("div", { class: "field" }, this.textLabel, this.text),
      this.submit,
    );
  }

  setPrompts(prompts: string[]): void {
    setText(this.legend, prompts[0] ?? "How do you feel now, from 0 (calm) to 10 (overwhelmed)?");
    setText(this.textLabel, prompts.slice(1).join(" ") || "Anything you want the mediator to know?");
  }

  reset(drafts: Drafts): void {
    for (const r of this.radios) r.checked = false;
    drafts.clear(this.text, "debrief");
  }
}

export function seatOrder(me: Seat): Seat[] {
  if (me === "mediator") return ["mediator", "partner_a", "partner_b"];
  const other: Partner = me === "partner_a" ? "partner_b" : "partner_a";
  return [me, other, "mediator"];
}

export function announceChange(prev: { value: string }, next: string, first: boolean): void {
  if (prev.value !== next) {
    if (!first) announce(next);
    prev.value = next;
  }
}
