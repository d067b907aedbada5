// A partner's own display name on the partner page (a case's names: the
// mediator sets them; each partner may change their own). The card always
// says what the partner is called; the form to change it shows only while the
// server lists `names.set` in `may` and names this seat in its hint. The
// server trims the name and holds its limit; the page only keeps the box
// within `max_chars`.

import { field, h, setText, show } from "./dom";
import type { Act } from "./phases/view";
import type { Partner } from "./protocol";
import type { SeatView } from "./store";
import { partnerName } from "./text";

export class NameCard {
  readonly el: HTMLElement;
  private readonly current = h("p", { class: "detail", "data-testid": "my-name" });
  private readonly input = h("input", { type: "text", maxLength: 40, autocomplete: "nickname", "data-testid": "my-name-input" });
  private readonly save = h("button", { type: "submit", class: "small", text: "Change my name" });
  private readonly status = h("p", { class: "hint", role: "status" });
  private readonly form: HTMLFormElement;
  private readonly change: HTMLDetailsElement;
  /** What the box was filled with last, so a name being typed is not overwritten. */
  private shown = "";

  constructor(
    private readonly me: Partner,
    private readonly act: Act,
  ) {
    this.form = h(
      "form",
      { class: "name-form" },
      field("Your name in this session", this.input, "Your partner and the mediator see it. A first name or a pseudonym is fine."),
      this.save,
    );
    this.change = h("details", { class: "name-change" }, h("summary", { text: "Change your name" }), this.form);
    this.el = h(
      "section",
      { class: "card", "aria-labelledby": "my-name-title" },
      h("h2", { id: "my-name-title", text: "Your name" }),
      this.current,
      this.change,
      this.status,
    );
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      setText(this.status, "");
      void this.act(this.save, "names.set", { seat: this.me, name: this.input.value }, () => {
        this.shown = this.input.value; // the next render shows the name as the server kept it
        this.change.open = false;
        setText(this.status, "Saved. Everyone in the session now sees it.");
      }).then((ack) => {
        if (!ack.ok) setText(this.status, ack.error.message);
      });
    });
  }

  render(view: SeatView, dead: boolean): void {
    const mine = view.state.names?.[this.me] ?? "";
    setText(
      this.current,
      mine
        ? `You are shown as “${mine}”.`
        : `You are shown as ${partnerName(this.me, null)} until you or the mediator give a name.`,
    );
    const hint = view.hints["names.set"];
    const allowed = view.may.has("names.set") && (hint?.seats ?? []).includes(this.me) && !dead;
    show(this.change, allowed);
    if (hint) this.input.maxLength = hint.max_chars;
    if (document.activeElement !== this.input && this.input.value === this.shown) this.input.value = mine;
    this.shown = mine;
    this.save.disabled = !allowed;
  }
}
