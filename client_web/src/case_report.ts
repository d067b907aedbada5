// A case's progress on its page (docs/API.md, `GET /api/cases/{id}/report`):
// comfort per scenario over the sessions (a small chart per scenario, a line
// per partner), the questionnaire's scores over the sessions with the gap
// between the partners and reliable change, the latest values reveal and the
// list's results side by side, the answers only the mediator saw marked so.
//
// Every chart has a table under it with the same numbers (for screen readers,
// and what a test reads), and its figure carries the data it is drawn from
// (`data-chart`) and, once Chart.js drew it, the data Chart.js holds
// (`data-drawn`). Chart.js is imported only when there is something to draw.
// The page computes nothing: the server's report has every number.

import { CaseNames, CaseReport, ListGiven, MeasureScore, api, errorText } from "./api";
import { COLOURS } from "./balance";
import type { Line, LineAxis } from "./chart";
import { append, h } from "./dom";

type Seat = "partner_a" | "partner_b";
const SEATS: Seat[] = ["partner_a", "partner_b"];
const GAP_COLOUR = "#555555";

/** The Progress card's content: loading, then the report or what went wrong. */
export async function renderProgress(card: HTMLElement, caseId: string): Promise<void> {
  const status = h("p", { class: "hint progress-loading", role: "status", "data-testid": "progress-status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Loading the progress…");
  card.replaceChildren(h("h2", { id: "progress-title", text: "Progress" }), status);
  card.setAttribute("aria-busy", "true");
  let report: CaseReport;
  try {
    report = await api.caseReport(caseId);
  } catch (err) {
    card.removeAttribute("aria-busy");
    const retry = h("button", { type: "button", class: "small", text: "Try again" });
    retry.addEventListener("click", () => void renderProgress(card, caseId));
    status.replaceWith(
      h(
        "div",
        { role: "alert", "data-testid": "progress-error" },
        h("p", { text: `The progress could not be loaded: ${errorText(err)}` }),
        h("p", { class: "hint", text: "The sessions above are unaffected. Try again, or reload the page." }),
        retry,
      ),
    );
    return;
  }
  card.removeAttribute("aria-busy");
  status.remove();
  append(card, ...progressParts(report));
}

function progressParts(report: CaseReport): HTMLElement[] {
  const names = report.case.names;
  const label = (i: number) => sessionLabel(report, i);
  return [
    comfortPart(report, names, label),
    measuresPart(report, names, label),
    valuesPart(report, names),
    listsPart(report, names),
  ];
}

function sessionLabel(report: CaseReport, index: number): string {
  const s = report.sessions[index];
  if (!s) return `Session ${index + 1}`;
  const day = new Date(s.created_at * 1000).toLocaleDateString([], { day: "numeric", month: "short" });
  return `${index + 1} · ${day}`;
}

/** A table row's name for a session. */
function sessionTitle(report: CaseReport, index: number): string {
  const s = report.sessions[index];
  return s ? `${index + 1}. ${s.title}` : `Session ${index + 1}`;
}

/** A session named in a sentence or a heading. */
function sessionName(report: CaseReport, index: number): string {
  const s = report.sessions[index];
  return s ? `session ${index + 1} (${s.title})` : `session ${index + 1}`;
}

function part(id: string, title: string, testid: string, ...children: Array<HTMLElement | null>): HTMLElement {
  return h("section", { class: "progress-part", "aria-labelledby": id, "data-testid": testid }, h("h3", { id, text: title }), ...children);
}

function empty(text: string): HTMLElement {
  return h("p", { class: "detail progress-empty", text });
}

/** A chart's figure: the canvas, drawn lazily, with its data on the element. */
function chartFigure(testid: string, caption: string, labels: string[], lines: Array<Line & { seat: string }>, axis: LineAxis, table: HTMLElement): HTMLElement {
  const canvas = h("canvas", { role: "img", "aria-label": `${caption}: a line chart; the table below has the same numbers.` });
  const figure = h(
    "figure",
    {
      class: "progress-chart",
      "data-testid": testid,
      "data-chart": JSON.stringify({ labels, lines: lines.map((l) => ({ seat: l.seat, label: l.label, data: l.data })) }),
    },
    h("figcaption", { text: caption }),
    h("div", { class: "chart-box" }, canvas),
    h("div", { class: "table-wrap" }, table),
  );
  void import("./chart").then(({ lineChart }) => {
    const drawn = lineChart(canvas, labels, lines, axis);
    figure.setAttribute("data-drawn", JSON.stringify(drawn));
  });
  return figure;
}

function dataTable(caption: string, head: string[], rows: Array<Array<string | HTMLElement>>, testid: string): HTMLElement {
  return h(
    "table",
    { class: "side-by-side progress-table", "data-testid": testid },
    h("caption", { text: caption }),
    h("thead", null, h("tr", null, ...head.map((t) => h("th", { scope: "col", text: t })))),
    h(
      "tbody",
      null,
      ...rows.map((cells) => h("tr", null, ...cells.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", null, c))))),
    ),
  );
}

// -- comfort ---------------------------------------------------------------------------------

function comfortPart(report: CaseReport, names: CaseNames, label: (i: number) => string): HTMLElement {
  const { comfort } = report;
  if (comfort.scenarios.length === 0) {
    return part("progress-comfort", "Comfort per scenario", "progress-comfort", empty("Run a session with a comfort scale (the values assessment or a follow-up) to see progress here."));
  }
  const scale = comfort.scale;
  const rating = (v: number | null) => (v === null ? "—" : `${v} · ${scale[v - 1] ?? ""}`);
  const labels = comfort.sessions.map(label);
  const grid = h("div", { class: "progress-grid" });
  for (const s of comfort.scenarios) {
    const lines = SEATS.map((seat) => ({ seat, label: names[seat], data: s[seat], colour: COLOURS[seat] }));
    const rows = comfort.sessions.map((session, k) => [sessionTitle(report, session), ...SEATS.map((seat) => rating(s[seat][k] ?? null))]);
    const table = dataTable(`${s.text} — each partner's rating per session`, ["Session", names.partner_a, names.partner_b], rows, `comfort-table-${s.id}`);
    append(grid, chartFigure(`chart-comfort-${s.id}`, s.text, labels, lines, { min: 1, max: scale.length, step: 1, title: "1 comfortable … 5 not" }, table));
  }
  return part(
    "progress-comfort",
    "Comfort per scenario",
    "progress-comfort",
    h("p", { class: "hint", text: `Each partner's last rating in each session, from 1 (${scale[0]?.toLowerCase()}) to ${scale.length} (${scale[scale.length - 1]?.toLowerCase()}): a falling line is more comfort.` }),
    grid,
  );
}

// -- measures --------------------------------------------------------------------------------

function measuresPart(report: CaseReport, names: CaseNames, label: (i: number) => string): HTMLElement {
  if (report.measures.length === 0) {
    const text = report.for === "mediator" ? "Run a session with a questionnaire (the follow-up playbook has one) to see each partner's score here." : "No scores: questionnaire scores are for the mediator only.";
    return part("progress-measures", "Questionnaire scores", "progress-measures", empty(text));
  }
  const children: HTMLElement[] = [];
  for (const m of report.measures) {
    const labels = m.rows.map((r) => label(r.session));
    const lines = [
      ...SEATS.map((seat) => ({ seat, label: names[seat], data: m.rows.map((r) => r[seat]?.score ?? null), colour: COLOURS[seat] })),
      { seat: "gap", label: "Gap", data: m.rows.map((r) => r.gap), colour: GAP_COLOUR, dashed: true },
    ];
    const score = (s: MeasureScore | null) => (s ? `${s.score}${s.band ? ` · ${s.band}` : ""}` : "—");
    const rows = m.rows.map((r) => [sessionTitle(report, r.session), score(r.partner_a), score(r.partner_b), r.gap === null ? "—" : String(r.gap)]);
    const table = dataTable(`${m.title} — scores per session (${m.low}–${m.high})`, ["Session", names.partner_a, names.partner_b, "Gap"], rows, `measure-table-${m.measure}`);
    const better = m.higher_is_better ? "higher is better" : "lower is better";
    children.push(
      h("p", { class: "hint", text: `Scores run from ${m.low} to ${m.high}; ${better}. The dashed line is the gap: how far apart the two partners' scores are.` }),
      chartFigure(`chart-measure-${m.measure}`, m.title, labels, lines, { min: m.low, max: m.high, title: `Score (${better})` }, table),
      changesList(names, m),
    );
  }
  return part("progress-measures", "Questionnaire scores", "progress-measures", ...children);
}

function changesList(names: CaseNames, m: CaseReport["measures"][number]): HTMLElement {
  const threshold = m.reliable_change === null ? "This measure has no reliable-change threshold." : `A change of ${m.reliable_change} points or more between two sessions counts as reliable.`;
  const box = h("div", { class: "progress-changes", "data-testid": `measure-changes-${m.measure}` }, h("h4", { text: "Reliable change" }), h("p", { class: "hint", text: threshold }));
  if (m.changes.length === 0) {
    append(box, empty("Shown once a partner has scores from two sessions."));
    return box;
  }
  const items = m.changes.map((c) => {
    const sign = c.delta > 0 ? `+${c.delta}` : String(c.delta);
    return h(
      "li",
      { class: `verdict-${c.verdict.replace(/[^a-z]+/g, "-")}`, "data-seat": c.seat },
      h("strong", { text: `${names[c.seat]}: ${c.verdict}` }),
      ` (${sign} points from session ${c.from + 1} to session ${c.to + 1})`,
    );
  });
  append(box, h("ul", { class: "progress-change-list" }, ...items));
  return box;
}

// -- values and lists ------------------------------------------------------------------------

function whose(report: CaseReport, names: CaseNames, seat: Seat): string {
  return report.for === seat ? "you" : names[seat];
}

function column(title: string, testid: string, items: string[], none: string, long = false): HTMLElement {
  return h(
    "div",
    { class: long ? "progress-column long" : "progress-column", "data-testid": testid },
    h("h4", { text: `${title} (${items.length})` }),
    items.length ? h("ul", null, ...items.map((t) => h("li", { text: t }))) : h("p", { class: "detail", text: none }),
  );
}

function valuesPart(report: CaseReport, names: CaseNames): HTMLElement {
  const v = report.values;
  if (!v) {
    return part("progress-values", "Values cards", "progress-values", empty("Run a session with values cards (the values assessment) and reveal them to see them here."));
  }
  const place: Record<string, string> = { core: "core — non-negotiable", negotiable: "negotiable", not_important: "not important" };
  return part(
    "progress-values",
    "Values cards",
    "progress-values",
    h("p", { class: "hint", text: `As revealed in ${sessionName(report, v.session)}.` }),
    h(
      "div",
      { class: "progress-columns" },
      column("Core for both", "values-shared-core", v.shared_core.map((c) => c.title), "No card is core for both."),
      column("Core for one, not important to the other", "values-split", v.core_and_not_important.map((c) => `${c.title} — core for ${whose(report, names, c.core_for)}`), "None: nothing core for one is unimportant to the other."),
      column("Negotiable for both", "values-negotiable", v.negotiable_both.map((c) => c.title), "None.", true),
    ),
    v.own.length ? column("Their own cards", "values-own", v.own.map((o) => `${o.title} (${whose(report, names, o.seat)}): ${place[o.place] ?? o.place}`), "") : null,
  );
}

function given(g: ListGiven | null): string {
  if (!g) return "—";
  const word = g.answer.charAt(0).toUpperCase() + g.answer.slice(1);
  return g.condition ? `${word} — ${g.condition}` : word;
}

function listsPart(report: CaseReport, names: CaseNames): HTMLElement {
  if (report.lists.length === 0) {
    return part("progress-lists", "Yes, maybe, no", "progress-lists", empty("Run a session with a yes / maybe / no list (the values assessment) and reveal it to see its results here."));
  }
  const blocks = report.lists.map((l) => {
    const block = h("div", { class: "progress-list", "data-testid": `list-${l.session}-${l.phase}` }, h("h4", { text: `${l.title}, revealed in ${sessionName(report, l.session)}` }));
    const shared = l.shared.map((s) => [s.text, given(s.partner_a), given(s.partner_b)]);
    append(
      block,
      shared.length
        ? h("div", { class: "table-wrap" }, dataTable("Shown to both: what neither said no to", ["Item", names.partner_a, names.partner_b], shared, "list-shared"))
        : h("p", { class: "detail", text: "Nothing was shown to both: every item had a no." }),
    );
    if (l.disclosed.length) {
      append(block, h("p", { class: "progress-subhead", text: "Nos shown to the other partner by their author" }), h("ul", { "data-testid": "list-disclosed" }, ...l.disclosed.map((d) => h("li", { text: `${d.text} — no from ${whose(report, names, d.seat)}` }))));
    }
    const p = l.private;
    if (p) {
      const rows = p.answers.map((a) => [a.text, given(a.partner_a), given(a.partner_b)]);
      const undisclosed = p.undisclosed_nos.map((n) => h("li", { text: `${n.text} — no from ${names[n.seat]}` }));
      append(
        block,
        h(
          "details",
          { class: "private-box", "data-testid": "list-private" },
          h("summary", null, h("span", { class: "private-tag", text: p.label }), " Every answer, as the reveal locked it"),
          h("p", { class: "hint", text: "Never shown to the partners: a no stays private unless its author shows it." }),
          h("p", { class: "progress-subhead", text: `Nos not shown to the other partner (${p.undisclosed_nos.length})` }),
          undisclosed.length ? h("ul", { "data-testid": "list-undisclosed" }, ...undisclosed) : h("p", { class: "detail", text: "None." }),
          h("div", { class: "table-wrap" }, dataTable("Every answer", ["Item", names.partner_a, names.partner_b], rows, "list-locked")),
        ),
      );
    }
    return block;
  });
  return part("progress-lists", "Yes, maybe, no", "progress-lists", ...blocks);
}
