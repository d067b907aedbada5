// The debrief phase's view (a closing debrief: each partner answers a 0–10
// rating and a few words, seen by the mediator only), and the pieces the
// debrief after a time-out shares with it (overlays/time_out.ts).

import { h, setText, show } from "../dom";
import { DebriefPhase, DebriefSpec, PARTNERS } from "../protocol";
import type { SeatView } from "../store";
import { DebriefForm, enable, overrideButton } from "../widgets";
import { Headline, MediatorContext, MediatorPart, PartnerContext, PartnerPart, View, phaseOf, specFor } from "./view";

/** The partner's debrief card: one per page, whichever debrief is open. */
export interface DebriefCard {
  readonly el: HTMLElement;
  /** The form while the server takes this partner's answer, else a thank-you. */
  render(view: SeatView, prompts: readonly string[]): void;
}

export function debriefCard(ctx: PartnerContext): DebriefCard {
  return ctx.shared("debrief-card", () => {
    const { act, drafts, isBusy } = ctx;
    const form = new DebriefForm(drafts, (rating, text) => {
      void act(form.submit, "debrief.answer", { rating, text }, () => form.reset(drafts));
    });
    const done = h("p", { class: "detail", "data-testid": "debrief-done" });
    const el = h(
      "section",
      { class: "card debrief-card", "aria-labelledby": "debrief-title", "data-testid": "debrief-panel" },
      h("h2", { id: "debrief-title", text: "Debrief" }),
      h("p", { class: "detail", text: "Only the mediator sees your answers." }),
      form.el,
      done,
    );
    return {
      el,
      render(view, prompts) {
        const open = view.may.has("debrief.answer");
        form.setPrompts([...(view.hints["debrief.answer"]?.prompts ?? prompts)]);
        show(form.el, open);
        enable(form.submit, open, isBusy);
        show(done, !open);
        setText(done, open ? "" : "Thank you. Waiting for your partner's answers (you will not see them).");
      },
    };
  });
}

/** The partner's headline in a debrief: the page's words for a known stage. */
export function debriefHeadline(view: SeatView, answering: string): Headline {
  const stage = view.prompt.stage;
  if (stage === "answered") return { head: "Debrief: waiting for your partner.", more: "" };
  if (stage === "answering") return { head: answering, more: "" };
  return { head: view.prompt.text, more: "" };
}

/** The mediator's "Skip the debrief" (an override), for either debrief. */
export function debriefControls(ctx: MediatorContext): { el: HTMLElement; render(view: SeatView): void } {
  const skip = overrideButton("Skip the debrief");
  skip.addEventListener("click", () => {
    ctx.overrides.send(skip, "debrief.skip", {}, ctx.store.view?.overrides.has("debrief.skip") ?? false);
  });
  return {
    el: ctx.group("Debrief", h("div", { class: "row" }, skip)),
    render(view) {
      enable(skip, view.may.has("debrief.skip"), ctx.isBusy);
      ctx.overrides.mark(skip, view.overrides.has("debrief.skip"));
    },
  };
}

/** "1 of 2 answered" (the mediator sees both partners' answers counted). */
export function answeredCount(answered: readonly string[]): string {
  return `${answered.length} of ${PARTNERS.length} answered`;
}

function partner(ctx: PartnerContext): PartnerPart {
  const card = debriefCard(ctx);
  return {
    el: card.el,
    render(view) {
      card.render(view, specFor<DebriefSpec>(view.state, "debrief")?.prompts ?? []);
      return debriefHeadline(view, "Closing debrief: a few questions.");
    },
  };
}

function mediator(ctx: MediatorContext): MediatorPart {
  const controls = debriefControls(ctx);
  return {
    controls: controls.el,
    render(view) {
      controls.render(view);
      const phase = phaseOf<DebriefPhase>(view.state, "debrief");
      return phase ? `Closing debrief: ${answeredCount(phase.answered)}.` : view.prompt.text;
    },
  };
}

export const DEBRIEF: View = { partner, mediator };
