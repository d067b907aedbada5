// The lobby's view: partners wait to be let in; the mediator admits them.

import { h, setText } from "../dom";
import { Partner } from "../protocol";
import { enable } from "../widgets";
import { Headline, MediatorContext, MediatorPart, PartnerPart, View } from "./view";

const HEADLINES: Record<string, Headline> = {
  waiting: { head: "Waiting room: the mediator will let you in.", more: "" },
  admitted: { head: "You're in. Waiting for the mediator to begin.", more: "" },
};

function partner(): PartnerPart {
  return {
    render: (view) => HEADLINES[view.prompt.stage] ?? { head: view.prompt.text, more: "" },
  };
}

function mediator(ctx: MediatorContext): MediatorPart {
  const { act, isBusy, name } = ctx;
  const admit = (seat: Partner) => {
    const button = h("button", { type: "button", text: `Admit ${name(seat)}` });
    button.addEventListener("click", () => void act(button, "admit", { seat }));
    return button;
  };
  const admitA = admit("partner_a");
  const admitB = admit("partner_b");
  return {
    controls: ctx.group("Lobby", h("div", { class: "row" }, admitA, admitB)),
    advanceLabel: (next) => `Start: ${next?.title ?? "next phase"}`,
    render(view) {
      const { state, may } = view;
      // `admit` names a seat; one already let in would be refused.
      const admittable = view.hints.admit?.seats ?? [];
      enable(admitA, may.has("admit") && admittable.includes("partner_a"), isBusy);
      enable(admitB, may.has("admit") && admittable.includes("partner_b"), isBusy);
      // The partners' names may change while they wait (a session of a case).
      setText(admitA, `Admit ${name("partner_a")}`);
      setText(admitB, `Admit ${name("partner_b")}`);
      const who = state.admitted.length ? state.admitted.map(name).join(" and ") : "nobody yet";
      return `Lobby: admitted ${who}.`;
    },
  };
}

export const LOBBY: View = { partner, mediator };
