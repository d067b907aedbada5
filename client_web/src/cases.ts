// The console's case screens (docs/API.md, "Cases"): the list of the
// mediator's cases with a form to open one, and one case: its partners' names
// (renaming them renames them in its open sessions too), its sessions in order
// with their phases as the log tells them, a new session in the case, and its
// progress (case_report.ts: the charts and the reveals, from the case's report).
//
// Like the rest of the console it only shows what the API answers; every
// refusal is the server's message, which says what to do.

import { CaseDetail, CaseSession, CaseSummary, SessionInfo, api, errorText } from "./api";
import { renderProgress } from "./case_report";
import { append, field, h, setText } from "./dom";

/** What the console gives the case screens. */
export interface CaseScreens {
  readonly main: HTMLElement;
  /** A session was just created: make its links and open its console page. */
  opened(session: SessionInfo): Promise<void>;
}

const OUTCOME: Record<string, string> = {
  done: "done",
  ended_early: "ended early",
  running: "in progress",
  not_reached: "not reached",
};

function when(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function failed(main: HTMLElement, err: unknown): void {
  main.replaceChildren(
    h(
      "section",
      { class: "card" },
      h("p", { role: "alert", text: errorText(err) }),
      h("a", { href: "#cases", text: "Back to the cases" }),
    ),
  );
}

// -- the list ---------------------------------------------------------------------------------

export async function showCases(screens: CaseScreens): Promise<void> {
  const { main } = screens;
  document.title = "Cases — Accord";
  const nameA = h("input", { type: "text", maxLength: 40, required: true, autocomplete: "off", "data-testid": "case-name-a" });
  const nameB = h("input", { type: "text", maxLength: 40, required: true, autocomplete: "off", "data-testid": "case-name-b" });
  const title = h("input", { type: "text", maxLength: 200, autocomplete: "off", placeholder: "e.g. Spring 2026" });
  const create = h("button", { type: "submit", class: "primary", text: "Create case" });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-case-title" },
    h("h1", { id: "new-case-title", text: "New case" }),
    h("p", { class: "hint", text: "A case holds a couple's sessions over time. Pseudonyms are fine; each partner may change their own name later." }),
    field("Partner A's name", nameA),
    field("Partner B's name", nameB),
    field("Title (optional)", title, "Without one, the case is called by the two names."),
    create,
    error,
  );
  const list = h("section", { class: "card", "aria-labelledby": "cases-title" }, h("h2", { id: "cases-title", text: "Your cases" }));
  main.replaceChildren(h("div", { class: "console-grid" }, form, list));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    create.disabled = true;
    setText(error, "");
    try {
      const made = await api.createCase(nameA.value, nameB.value, title.value.trim() || null);
      location.hash = `case=${made.id}`;
    } catch (err) {
      setText(error, errorText(err));
      nameA.focus();
    } finally {
      create.disabled = false;
    }
  });

  let cases: CaseSummary[];
  try {
    cases = await api.cases();
  } catch (err) {
    append(list, h("p", { role: "alert", text: errorText(err) }));
    return;
  }
  if (cases.length === 0) {
    append(list, h("p", { class: "detail", text: "No cases yet. Create one with the form; then add its sessions from the case's page." }));
    return;
  }
  const rows = cases.map((c) =>
    h(
      "tr",
      null,
      h("td", null, h("a", { href: `#case=${c.id}`, text: c.title })),
      h("td", { text: `${c.names.partner_a} & ${c.names.partner_b}` }),
      h("td", { text: String(c.session_count) }),
      h("td", { text: c.last_session_at ? when(c.last_session_at) : "—" }),
      h("td", { text: c.archived ? "archived" : "open" }),
    ),
  );
  append(
    list,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "sessions", "data-testid": "cases-table" },
        h("thead", null, h("tr", null, ...["Case", "Partners", "Sessions", "Last session", "Status"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", null, ...rows),
      ),
    ),
  );
}

// -- one case ---------------------------------------------------------------------------------

export async function showCase(screens: CaseScreens, id: string): Promise<void> {
  const { main } = screens;
  let detail: CaseDetail;
  try {
    detail = await api.case(id);
  } catch (err) {
    failed(main, err);
    return;
  }
  document.title = `${detail.title} — Accord`;
  const heading = h("h1", { text: detail.title });
  const sub = h("p", { class: "detail" });
  const namesCard = h("section", { class: "card", "aria-labelledby": "names-title" });
  const sessionsCard = h("section", { class: "card", "aria-labelledby": "case-sessions-title" });
  const newCard = h("section", { class: "card", "aria-labelledby": "case-new-title" });
  const progress = h(
    "section",
    { class: "card progress-card", "aria-labelledby": "progress-title", "data-testid": "case-progress" },
    h("h2", { id: "progress-title", text: "Progress" }),
  );
  main.replaceChildren(
    h("div", { class: "session-head" }, h("p", null, h("a", { href: "#cases", text: "← All cases" })), heading, sub),
    h("div", { class: "console-grid" }, namesCard, newCard),
    sessionsCard,
    progress,
  );

  const render = (d: CaseDetail) => {
    detail = d;
    setText(heading, d.title);
    setText(sub, `${d.names.partner_a} & ${d.names.partner_b} · ${d.sessions.length} session${d.sessions.length === 1 ? "" : "s"}${d.archived ? " · archived" : ""}`);
    renderSessions(sessionsCard, d.sessions);
  };
  renderNames(namesCard, detail, render);
  await renderNew(newCard, screens, detail, render);
  render(detail);
  void renderProgress(progress, id);
}

function renderNames(card: HTMLElement, detail: CaseDetail, render: (d: CaseDetail) => void): void {
  const nameA = h("input", { type: "text", maxLength: 40, required: true, autocomplete: "off", "data-testid": "rename-a" });
  const nameB = h("input", { type: "text", maxLength: 40, required: true, autocomplete: "off", "data-testid": "rename-b" });
  nameA.value = detail.names.partner_a;
  nameB.value = detail.names.partner_b;
  const save = h("button", { type: "submit", class: "small", text: "Save names" });
  const status = h("p", { class: "hint", role: "status" });
  const archive = h("button", { type: "button", class: "small" });
  const label = (archived: boolean) => setText(archive, archived ? "Reopen the case" : "Archive the case");
  label(detail.archived);
  const form = h(
    "form",
    { class: "names-form" },
    field("Partner A", nameA),
    field("Partner B", nameB),
    h("div", { class: "row" }, save, archive),
    status,
  );
  card.replaceChildren(
    h("h2", { id: "names-title", text: "Partners" }),
    h("p", { class: "hint", text: "Everyone in the case's sessions sees these names. Renaming here renames them in its open sessions too." }),
    form,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    save.disabled = true;
    setText(status, "");
    try {
      const d = await api.changeCase(detail.id, { name_a: nameA.value, name_b: nameB.value });
      nameA.value = d.names.partner_a;
      nameB.value = d.names.partner_b;
      const live = d.renamed_in?.length ?? 0;
      setText(status, live ? `Saved, and sent to ${live} open session${live === 1 ? "" : "s"}.` : "Saved.");
      render(d);
    } catch (err) {
      setText(status, errorText(err));
    } finally {
      save.disabled = false;
    }
  });
  archive.addEventListener("click", async () => {
    archive.disabled = true;
    setText(status, "");
    try {
      const d = await api.changeCase(detail.id, { archived: !detail.archived });
      label(d.archived);
      setText(status, d.archived ? "Archived: it takes no new sessions until you reopen it." : "Reopened.");
      render(d);
    } catch (err) {
      setText(status, errorText(err));
    } finally {
      archive.disabled = false;
    }
  });
}

async function renderNew(card: HTMLElement, screens: CaseScreens, detail: CaseDetail, render: (d: CaseDetail) => void): Promise<void> {
  const playbook = h("select", { required: true, "data-testid": "case-playbook-select" });
  const title = h("input", { type: "text", maxLength: 200, autocomplete: "off", placeholder: "e.g. Session 2" });
  const describeBox = h("p", { class: "hint" });
  const create = h("button", { type: "submit", class: "primary", text: "Create session in this case" });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    null,
    field("Playbook", playbook, describeBox),
    field("Title (optional)", title),
    create,
    error,
  );
  card.replaceChildren(
    h("h2", { id: "case-new-title", text: "New session" }),
    h("p", { class: "hint", text: "It starts with the partners' names above, and its record joins the case's." }),
    form,
  );
  const playbooks = await api.playbooks().catch((err: unknown) => {
    setText(error, errorText(err));
    return [];
  });
  for (const p of playbooks) append(playbook, h("option", { value: p.name, text: `${p.title} (${p.name})` }));
  const describePlaybook = () => setText(describeBox, playbooks.find((p) => p.name === playbook.value)?.description ?? "");
  playbook.addEventListener("change", describePlaybook);
  describePlaybook();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    create.disabled = true;
    setText(error, "");
    try {
      const session = await api.createCaseSession(detail.id, playbook.value, title.value.trim() || null);
      await screens.opened(session);
    } catch (err) {
      setText(error, errorText(err));
      // An archived case says so; show the case as it is now.
      api.case(detail.id).then(render, () => undefined);
    } finally {
      create.disabled = false;
    }
  });
}

function renderSessions(card: HTMLElement, sessions: CaseSession[]): void {
  card.replaceChildren(h("h2", { id: "case-sessions-title", text: "Sessions, in order" }));
  if (sessions.length === 0) {
    append(card, h("p", { class: "detail", text: "No sessions yet. Create the first one with “New session”." }));
    return;
  }
  const list = h("ol", { class: "case-sessions", "data-testid": "case-sessions" });
  for (const s of sessions) {
    const phases = h("ul", { class: "case-phases" });
    for (const p of s.phases) {
      const why = p.reason ? ` — ${p.reason}` : "";
      append(phases, h("li", { class: `phase-${p.outcome}`, text: `${p.title || `Phase ${p.index + 1}`}: ${OUTCOME[p.outcome] ?? p.outcome}${why}` }));
    }
    append(
      list,
      h(
        "li",
        { "data-session": s.id },
        h("a", { href: `#session=${s.id}`, text: s.title }),
        h("span", { class: "detail", text: ` · ${s.playbook} · ${when(s.created_at)} · ${s.status}` }),
        phases,
      ),
    );
  }
  append(card, list);
}
