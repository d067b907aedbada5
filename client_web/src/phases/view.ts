// What a phase type's client view is (docs/ARCHITECTURE.md, "How to add a
// phase type", step 3): its part of the partner page and of the mediator's
// live view, each rendered from the seat's view as the server sent it
// (`state`, `may`, `overrides`, `hints`, `prompt`). The pages are frames that
// mount the current phase's view (phases/index.ts) and the standing
// overlay's (overlays/index.ts); a view holds no rule of its own.

import type { Drafts } from "../dom";
import type { Partner, PhaseSpec, SessionState } from "../protocol";
import type { SeatView, Store } from "../store";
import type { Namer } from "../text";
import type { makeActor } from "../widgets";

export type Act = ReturnType<typeof makeActor>["act"];
export type IsBusy = (button: HTMLButtonElement) => boolean;

/** A headline and the line under it. */
export interface Headline {
  head: string;
  more: string;
}

/** What the frames give every view of the partner page. */
export interface PartnerContext {
  readonly store: Store;
  readonly me: Partner;
  readonly drafts: Drafts;
  readonly act: Act;
  readonly isBusy: IsBusy;
  /** Renders the page again (after something only the page knows changed). */
  rerender(): void;
  /** One piece per page for views that share it (the debrief form: one set of
   * element ids), made the first time it is asked for. */
  shared<T>(key: string, make: () => T): T;
}

/** A view's part of the partner page. */
export interface PartnerPart {
  /** Under the headline, in the card that says where the session is (e.g. the floor). */
  readonly status?: HTMLElement;
  /** Its cards, in the page's main column. */
  readonly el?: HTMLElement;
  /** Brings the part up to date and says what to tell the partner now: the
   * page's own words for the (role, stage) it knows, else `prompt.text`. */
  render(view: SeatView): Headline;
}

/** Sends the mediator's commands that may be overrides, with the reason
 * written in the console's one Reason field. */
export interface Overrides {
  /** When `needed` (the server lists the command in `overrides`) and no reason
   * is written, nothing is sent: the Reason field asks for one. */
  send(button: HTMLButtonElement, type: string, fields: Record<string, unknown>, needed: boolean): void;
  /** Show on an override button (widgets.overrideButton) whether it needs a reason now. */
  mark(button: HTMLButtonElement, needed: boolean): void;
}

/** What the frame gives every view of the mediator's live view. */
export interface MediatorContext {
  readonly store: Store;
  readonly name: Namer;
  readonly drafts: Drafts;
  readonly act: Act;
  readonly isBusy: IsBusy;
  readonly overrides: Overrides;
  /** Renders the view again (after something only the page knows changed). */
  rerender(): void;
  /** A titled group of controls, for `controls`. */
  group(title: string, ...children: Array<Node | null>): HTMLElement;
}

/** A view's part of the mediator's live view. */
export interface MediatorPart {
  /** In the card that says where the session is (the queue, a countdown). */
  readonly now?: HTMLElement;
  /** Its controls, in the controls card (hidden while an overlay stands over the phase). */
  readonly controls?: HTMLElement;
  /** Its own cards (what each partner answered, side by side), at the top of
   * the live view's middle column; shown while its phase or overlay is current. */
  readonly el?: HTMLElement;
  /** The label of the "next phase" button, when the phase words it its own way. */
  advanceLabel?(next: PhaseSpec | undefined): string;
  /** Brings the part up to date; the line that says where the session is. */
  render(view: SeatView): string;
}

/** A phase type's view, or an overlay's. */
export interface View {
  partner(ctx: PartnerContext): PartnerPart;
  mediator(ctx: MediatorContext): MediatorPart;
}

/** The playbook's entry for the current phase (for display: titles, counts, prompts). */
export function specOf(state: SessionState): PhaseSpec | undefined {
  return state.playbook.phases[state.index];
}

/** The current phase's state, if it is of `kind`. A view names its phase's
 * wire type itself, so a new phase type needs no change elsewhere. */
export function phaseOf<P extends { kind: string }>(state: SessionState, kind: P["kind"]): P | null {
  const phase: { kind: string } = state.phase;
  return phase.kind === kind ? (phase as unknown as P) : null;
}

/** The current phase's playbook entry, if it is of `type` (for display). */
export function specFor<S extends { type: string }>(state: SessionState, type: S["type"]): S | null {
  const spec: { type: string } | undefined = specOf(state);
  return spec?.type === type ? (spec as unknown as S) : null;
}

/** The standing overlay's state, if it is of `kind`. */
export function overlayOf<O extends { kind: string }>(state: SessionState, kind: O["kind"]): O | null {
  const overlay: { kind: string } | null = state.overlay;
  return overlay?.kind === kind ? (overlay as unknown as O) : null;
}

/** The view of a phase type or overlay this page does not know: its prompt only. */
export const PROMPT_ONLY: View = {
  partner: () => ({ render: (view) => ({ head: view.prompt.text, more: "" }) }),
  mediator: () => ({ render: (view) => view.prompt.text }),
};
