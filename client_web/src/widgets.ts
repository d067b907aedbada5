// Pieces shared by the partner page and the mediator's live view.

import { Store } from "./store";
import { Drafts, announce, append, clear, formatClock, h, setText, show } from "./dom";
import { Line, Namer, describe } from "./text";
import { Partner, Seat } from "./protocol";

/** The banners for reconnecting / stopped, and one for refusals. */
export class Banners {
  readonly el: HTMLDivElement;
  private readonly reconnect: HTMLDivElement;
  private readonly stopped: HTMLDivElement;
  private readonly error: HTMLDivElement;

  constructor() {
    this.reconnect = h(
      "div",
      { class: "banner banner-warn", role: "status", hidden: true, "data-testid": "reconnect-banner" },
      h("strong", { text: "Connection lost — reconnecting…" }),
      " Keep typing if you like: nothing you wrote is lost, and what you send goes out when the connection is back.",
    );
    this.stopped = h("div", { class: "banner banner-stop", role: "alert", hidden: true });
    this.error = h("div", { class: "banner banner-error", role: "alert", hidden: true, "data-testid": "refusal" });
    this.el = h("div", { class: "banners" }, this.reconnect, this.stopped, this.error);
  }

  render(store: Store): void {
    show(this.reconnect, store.status === "reconnecting");
    show(this.stopped, store.status === "stopped");
    setText(this.stopped, store.statusMessage || "The connection was closed.");
  }

  refusal(message: string | null): void {
    show(this.error, message !== null);
    setText(this.error, message ?? "");
    if (message) this.error.scrollIntoView({ block: "nearest" });
  }
}

/** Sends a command from a button: busy while unanswered, refusals shown as sentences. */
export function makeActor(store: Store, banners: Banners, rerender: () => void) {
  const busy = new Set<HTMLButtonElement>();
  async function act(
    button: HTMLButtonElement | null,
    type: string,
    fields: Record<string, unknown> = {},
    onOk?: () => void,
  ): Promise<boolean> {
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
    } else {
      banners.refusal(ack.error.message);
      announce(ack.error.message);
    }
    rerender();
    return ack.ok;
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
      status = store.status === "live" ? "here" : store.status === "stopped" ? "disconnected" : "reconnecting…";
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
