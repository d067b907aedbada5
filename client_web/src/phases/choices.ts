// What the comfort scale and the questionnaire share: a question answered
// by one of a few labelled choices (a radio group with large targets, never a
// slider), and the events of the current phase in this seat's transcript,
// from which a page rebuilds what was answered (the values are never in the
// state: PROTOCOL.md, "The state").

import { append, clear, h } from "../dom";
import type { WireEvent } from "../protocol";
import type { Store } from "../store";

let groups = 0;

/** One question with its labelled choices. `pick` is called when the person chooses. */
export class ChoiceGroup {
  readonly el: HTMLFieldSetElement;
  private readonly radios: HTMLInputElement[] = [];
  private readonly values: number[] = [];

  constructor(
    readonly key: string,
    question: string,
    choices: ReadonlyArray<{ value: number; label: string }>,
    pick: (value: number) => void,
  ) {
    groups += 1;
    const name = `choice-${groups}`;
    const legend = h("legend", { class: "choice-question", text: question });
    const list = h("div", { class: "choice-list" });
    for (const choice of choices) {
      const radio = h("input", { type: "radio", name, value: String(choice.value), id: `${name}-${choice.value}` });
      radio.addEventListener("change", () => {
        if (radio.checked) pick(choice.value);
      });
      this.radios.push(radio);
      this.values.push(choice.value);
      append(
        list,
        h(
          "label",
          { class: "choice", for: radio.id },
          radio,
          h("span", { class: "choice-value", text: String(choice.value) }),
          h("span", { class: "choice-label", text: choice.label }),
        ),
      );
    }
    this.el = h("fieldset", { class: "choice-group", "data-key": key }, legend, list);
  }

  /** The chosen value, or null. */
  get value(): number | null {
    const i = this.radios.findIndex((r) => r.checked);
    return i < 0 ? null : (this.values[i] ?? null);
  }

  set(value: number | null): void {
    this.radios.forEach((r, i) => {
      r.checked = this.values[i] === value;
    });
  }

  enable(on: boolean): void {
    for (const r of this.radios) r.disabled = !on;
    this.el.classList.toggle("answered", this.value !== null);
  }

  focus(): void {
    this.radios[0]?.focus();
  }
}

/** The events of the current phase (since its `phase.started`) in the transcript. */
export function phaseEvents(store: Store, index: number): WireEvent[] {
  const events = store.transcript;
  let start = 0;
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const e = events[i]!;
    if (e.type === "phase.started" && e["index"] === index) {
      start = i + 1;
      break;
    }
  }
  return events.slice(start);
}

/** A table: a header row and body rows of cells. */
export function fillTable(table: HTMLTableElement, head: string[], rows: Array<Array<string | Node>>): void {
  clear(table);
  const tr = h("tr");
  for (const cell of head) append(tr, h("th", { scope: "col", text: cell }));
  const body = h("tbody");
  for (const row of rows) {
    const line = h("tr");
    row.forEach((cell, i) => append(line, i === 0 ? h("th", { scope: "row" }, cell) : h("td", null, cell)));
    append(body, line);
  }
  append(table, h("thead", null, tr), body);
}
