// The registry of overlay views: `state.overlay.kind` → its view, shown over
// the current phase while the overlay stands. A kind the page does not know
// shows its prompt.

import { PROMPT_ONLY, View } from "../phases/view";
import { DEBRIEF_AFTER_TIME_OUT, TIME_OUT } from "./time_out";

const OVERLAYS: Readonly<Record<string, View>> = {
  time_out: TIME_OUT,
  debrief: DEBRIEF_AFTER_TIME_OUT,
};

export function overlayView(kind: string): View {
  return OVERLAYS[kind] ?? PROMPT_ONLY;
}
