// The comfort scale's view (seed article: comfort across scenarios, from
// fully comfortable to uncertain, tracked over time): each partner rates
// each scenario with one of five labelled choices, changes them freely, and
// says done when `may` offers it; the mediator sees both partners' ratings
// side by side as they come.
//
// The state lists which scenarios a seat may know are rated, never a value:
// a partner's page rebuilds its own ratings from its own `comfort.rated`
// events, the mediator's from both partners'. Who sees the ratings is said
// by the server's prompt.

import { h, setText, show } from "../dom";
import { PARTNERS, Partner, WireEvent, isPartner } from "../protocol";
import type { SeatView, Store } from "../store";
import { enable } from "../widgets";
import { ChoiceGroup, fillTable, phaseEvents } from "./choices";
import { Headline, MediatorContext, MediatorPart, PartnerContext, PartnerPart, View, phaseOf, specFor } from "./view";

interface Scenario {
  id: string;
  text: string;
}

/** The phase's state on the wire (PROTOCOL.md, "The state"). */
interface ComfortScalePhase {
  kind: "comfort_scale";
  scenarios: Scenario[];
  /** The five labels, for 1 (fully comfortable) to 5 (uncertain / not comfortable). */
  scale: string[];
  /** The scenarios rated so far, by partner (a partner's view: only its own). */
  rated: Partial<Record<Partner, string[]>>;
  done: Partner[];
}

interface ComfortScaleSpec {
  type: "comfort_scale";
  title: string;
  instructions: string;
}

function scaleOf(view: SeatView): ComfortScalePhase | null {
  return phaseOf<ComfortScalePhase>(view.state, "comfort_scale");
}

/** Each partner's ratings in this phase, by scenario: the last one counts. */
export function ratings(store: Store, index: number): Record<Partner, Map<string, number>> {
  const found: Record<Partner, Map<string, number>> = { partner_a: new Map(), partner_b: new Map() };
  for (const e of phaseEvents(store, index)) {
    if (e.type === "comfort.rated" && isPartner(e["seat"])) rated(found[e["seat"]], e);
  }
  return found;
}

function rated(into: Map<string, number>, e: WireEvent): void {
  const scenario = e["scenario"];
  const value = e["value"];
  if (typeof scenario === "string" && typeof value === "number") into.set(scenario, value);
}

function choices(scale: readonly string[]): Array<{ value: number; label: string }> {
  return scale.map((label, i) => ({ value: i + 1, label }));
}

function partner(ctx: PartnerContext): PartnerPart {
  const { store, me, act, isBusy } = ctx;
  const title = h("h2", { id: "comfort-title" });
  const instructions = h("p", { class: "detail" });
  const who = h("p", { class: "privacy-note", "data-testid": "comfort-privacy" });
  const progress = h("p", { class: "progress", "data-testid": "comfort-progress", "aria-live": "polite" });
  const list = h("div", { class: "choice-groups" });
  const done = h("button", { type: "button", class: "primary", "data-testid": "comfort-done", text: "I'm done" });
  done.addEventListener("click", () => void act(done, "comfort.done"));
  const el = h(
    "section",
    { class: "card comfort-card", "aria-labelledby": "comfort-title", "data-testid": "comfort-panel" },
    title,
    instructions,
    who,
    progress,
    list,
    done,
  );
  let built = -1;
  let groups: ChoiceGroup[] = [];
  /** Choices sent and not yet answered: shown as chosen meanwhile. */
  const pending = new Map<string, number>();

  function build(phase: ComfortScalePhase, index: number): void {
    built = index;
    pending.clear();
    groups = phase.scenarios.map(
      (s) =>
        new ChoiceGroup(s.id, s.text, choices(phase.scale), (value) => {
          pending.set(s.id, value);
          void act(null, "comfort.rate", { scenario: s.id, value }).then(() => {
            pending.delete(s.id);
            ctx.rerender();
          });
        }),
    );
    list.replaceChildren(...groups.map((g) => g.el));
  }

  return {
    el,
    render(view): Headline {
      const phase = scaleOf(view);
      if (!phase) return { head: view.prompt.text, more: "" };
      const index = view.state.index;
      if (built !== index) build(phase, index);
      const spec = specFor<ComfortScaleSpec>(view.state, "comfort_scale");
      setText(title, spec?.title ?? "Comfort scale");
      setText(instructions, spec?.instructions ?? "");
      setText(who, view.prompt.text);
      const mine = ratings(store, index)[me];
      const open = view.may.has("comfort.rate");
      for (const g of groups) {
        g.set(pending.get(g.key) ?? mine.get(g.key) ?? null);
        g.enable(open);
      }
      const count = (phase.rated[me] ?? []).length;
      setText(progress, `${count} of ${phase.scenarios.length} rated`);
      const canFinish = view.may.has("comfort.done");
      show(done, canFinish);
      enable(done, canFinish, isBusy);
      if (view.prompt.stage === "done") return { head: "Thank you: your ratings are in.", more: "" };
      return { head: "Comfort scale: how comfortable are you with each of these?", more: "" };
    },
  };
}

function mediator(ctx: MediatorContext): MediatorPart {
  const { store, name } = ctx;
  const table = h("table", { class: "side-by-side", "data-testid": "comfort-table" });
  const el = h(
    "section",
    { class: "card", "aria-labelledby": "comfort-ratings-title", "data-testid": "comfort-ratings" },
    h("h2", { id: "comfort-ratings-title", text: "Comfort ratings" }),
    h("p", { class: "detail", text: "1 fully comfortable … 5 uncertain / not comfortable. Private to you unless the playbook shares them." }),
    table,
  );
  return {
    el,
    render(view) {
      const phase = scaleOf(view);
      if (!phase) return view.prompt.text;
      const all = ratings(store, view.state.index);
      const cell = (p: Partner, id: string): string => {
        const v = all[p].get(id);
        return v === undefined ? "—" : `${v} · ${phase.scale[v - 1] ?? ""}`;
      };
      const status = (p: Partner): string =>
        phase.done.includes(p) ? "done" : `${(phase.rated[p] ?? []).length} of ${phase.scenarios.length} rated`;
      fillTable(
        table,
        ["Scenario", ...PARTNERS.map((p) => name(p))],
        [...phase.scenarios.map((s) => [s.text, ...PARTNERS.map((p) => cell(p, s.id))]), ["Status", ...PARTNERS.map(status)]],
      );
      return `Comfort scale: ${PARTNERS.map((p) => `${name(p)} ${status(p)}`).join(", ")}.`;
    },
  };
}

export const COMFORT_SCALE: View = { partner, mediator };
