// The registry of phase views: `state.phase.kind` → its view. A new phase type
// is one module beside these and one line here (docs/ARCHITECTURE.md, "How to
// add a phase type"); a kind the page does not know shows its prompt.

import { BRAINSTORM } from "./brainstorm";
import { COMFORT_SCALE } from "./comfort_scale";
import { DEBRIEF } from "./debrief";
import { DIALOGUE } from "./dialogue";
import { EVALUATE } from "./evaluate";
import { LOBBY } from "./lobby";
import { MUTUAL_REVEAL } from "./mutual_reveal";
import { VALUES_SORT } from "./values_sort";
import { MEASURE } from "./measure";
import { PROMPT_ONLY, View } from "./view";

const PHASES: Readonly<Record<string, View>> = {
  lobby: LOBBY,
  dialogue: DIALOGUE,
  debrief: DEBRIEF,
  mutual_reveal: MUTUAL_REVEAL,
  values_sort: VALUES_SORT,
  comfort_scale: COMFORT_SCALE,
  measure: MEASURE,
  brainstorm: BRAINSTORM,
  evaluate: EVALUATE,
};

/** The view of a phase kind; none once the session ended (the frames show the end). */
export function phaseView(kind: string): View | null {
  if (kind === "ended") return null;
  return PHASES[kind] ?? PROMPT_ONLY;
}
