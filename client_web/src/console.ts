// The mediator console: first-run setup, login, the session list, creating a
// session with its invite links, the cases (cases.ts), and the live view of
// one session.

import { ApiError, CaseNames, InviteInfo, SessionInfo, api, errorText, mayBeLoggedIn, rememberLogin } from "./api";
import { CaseScreens, showCase, showCases } from "./cases";
import { append, copyText, field, h, safeGet, safeSet, setText } from "./dom";
import { mountLive } from "./live";
import { Seat } from "./protocol";
import { Store } from "./store";
import { consoleNamer } from "./text";

interface Links {
  partner_a?: string;
  partner_b?: string;
  mediator?: string; // join URL of the console's own seat
}

function linksOf(session: string): Links {
  try {
    return JSON.parse(safeGet(`accord:links:${session}`) ?? "{}") as Links;
  } catch {
    return {};
  }
}
function saveLink(session: string, seat: Seat, url: string): void {
  safeSet(`accord:links:${session}`, JSON.stringify({ ...linksOf(session), [seat]: url }));
}
function tokenOf(joinUrl: string): string {
  const i = joinUrl.indexOf("#");
  return i >= 0 ? joinUrl.slice(i + 1) : "";
}

export function mountConsole(root: HTMLElement): void {
  const who = h("span", { class: "who" });
  const sessionsLink = h("a", { href: "/console", text: "Sessions" });
  const casesLink = h("a", { href: "/console#cases", text: "Cases" });
  const logout = h("button", { type: "button", class: "small", text: "Log out" });
  const nav = h("nav", { class: "topnav", "aria-label": "Console", hidden: true }, who, casesLink, sessionsLink, logout);
  const header = h("header", { class: "topbar" }, h("span", { class: "brand", text: "Accord" }), h("span", { class: "session-title", text: "Mediator console" }), nav);
  const main = h("main", { class: "console-main", id: "main" });
  root.replaceChildren(header, main);
  let live: Store | null = null;
  const screens: CaseScreens = { main, opened: openNew };

  /** A session just created: its three links (the console keeps them), then its page. */
  async function openNew(session: SessionInfo): Promise<void> {
    for (const seat of ["partner_a", "partner_b", "mediator"] as const) {
      const invite = await api.invite(session.id, seat);
      saveLink(session.id, seat, invite.join_url);
    }
    location.hash = `session=${session.id}`;
  }

  logout.addEventListener("click", async () => {
    try {
      await api.logout();
    } catch {
      // logged out locally either way
    }
    rememberLogin(false);
    nav.hidden = true;
    location.hash = "";
    showLogin();
  });
  window.addEventListener("hashchange", () => void route());

  async function start(): Promise<void> {
    if (!mayBeLoggedIn()) return showLogin();
    try {
      const me = await api.me();
      loggedIn(me.mediator.email);
      await route();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        rememberLogin(false);
        showLogin();
      } else {
        main.replaceChildren(h("p", { role: "alert", text: errorText(err) }));
      }
    }
  }

  function loggedIn(email: string): void {
    rememberLogin(true);
    setText(who, email);
    nav.hidden = false;
  }

  function stopLive(): void {
    live?.stop();
    live = null;
  }

  async function route(): Promise<void> {
    if (nav.hidden) return;
    stopLive();
    const m = /^#session=([A-Za-z0-9_-]+)$/.exec(location.hash);
    const c = /^#case=([A-Za-z0-9_-]+)$/.exec(location.hash);
    if (m && m[1]) await showSession(m[1]);
    else if (c && c[1]) await showCase(screens, c[1]);
    else if (location.hash === "#cases") await showCases(screens);
    else await showList();
  }

  // -- login --------------------------------------------------------------------------
  function showLogin(): void {
    stopLive();
    document.title = "Log in — Accord";
    const email = h("input", { type: "email", autocomplete: "username", required: true, name: "email" });
    const password = h("input", { type: "password", autocomplete: "current-password", required: true, name: "password" });
    const error = h("p", { class: "form-error", role: "alert" });
    const setupHint = h("p", { class: "hint" });
    const submit = h("button", { type: "submit", class: "primary", text: "Log in" });
    const form = h(
      "form",
      { class: "card narrow", "aria-labelledby": "login-title" },
      h("h1", { id: "login-title", text: "Log in" }),
      field("Email", email),
      field("Password", password),
      submit,
      error,
      setupHint,
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      setText(error, "");
      try {
        const me = await api.login(email.value, password.value);
        loggedIn(me.mediator.email);
        await route();
      } catch (err) {
        setText(error, errorText(err));
        password.focus();
      } finally {
        submit.disabled = false;
      }
    });
    main.replaceChildren(form);
    email.focus();
    api
      .setupStatus()
      .then((s) => {
        if (s.needs_setup) {
          setText(setupHint, "No mediator account exists yet. Open the setup link that `accord serve` printed to create the first one.");
        }
      })
      .catch(() => undefined);
  }

  // -- the session list ------------------------------------------------------------------
  async function showList(): Promise<void> {
    document.title = "Sessions — Accord";
    const playbook = h("select", { required: true, "data-testid": "playbook-select" });
    const title = h("input", { type: "text", maxLength: 200, placeholder: "e.g. Ann & Bo", "data-testid": "session-title-input" });
    const create = h("button", { type: "submit", class: "primary", text: "Create session" });
    const error = h("p", { class: "form-error", role: "alert" });
    const describeBox = h("p", { class: "hint" });
    const form = h(
      "form",
      { class: "card", "aria-labelledby": "new-title" },
      h("h1", { id: "new-title", text: "New session" }),
      field("Playbook", playbook, describeBox),
      field("Title (optional)", title),
      create,
      error,
    );
    const list = h(
      "section",
      { class: "card", "aria-labelledby": "list-title" },
      h("h2", { id: "list-title", text: "Your sessions" }),
      h("p", { class: "hint" }, "A couple's sessions over time belong in a case: ", h("a", { href: "#cases", text: "open the cases" }), "."),
    );
    main.replaceChildren(h("div", { class: "console-grid" }, form, list));

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
        const session = await api.createSession(playbook.value, title.value.trim() || null);
        await openNew(session);
      } catch (err) {
        setText(error, errorText(err));
      } finally {
        create.disabled = false;
      }
    });

    let sessions: SessionInfo[] = [];
    try {
      sessions = await api.sessions();
    } catch (err) {
      append(list, h("p", { role: "alert", text: errorText(err) }));
      return;
    }
    if (sessions.length === 0) {
      append(list, h("p", { class: "detail", text: "No sessions yet." }));
      return;
    }
    const rows = sessions.map((s) =>
      h(
        "tr",
        null,
        h("td", null, h("a", { href: `#session=${s.id}`, text: s.title })),
        h("td", { text: s.playbook }),
        h("td", { text: new Date(s.created_at * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) }),
        h("td", { text: s.status }),
      ),
    );
    append(
      list,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "sessions" },
          h("thead", null, h("tr", null, ...["Title", "Playbook", "Created", "Status"].map((t) => h("th", { scope: "col", text: t })))),
          h("tbody", null, ...rows),
        ),
      ),
    );
  }

  // -- one session: links and the live view ---------------------------------------------------
  async function showSession(id: string): Promise<void> {
    let info: SessionInfo & { invites: InviteInfo[] };
    try {
      info = await api.session(id);
    } catch (err) {
      main.replaceChildren(h("section", { class: "card" }, h("p", { role: "alert", text: errorText(err) }), h("a", { href: "/console", text: "Back to sessions" })));
      return;
    }
    document.title = `${info.title} — Accord`;
    // A session of a case: the case's names for the partners, and the way back to it.
    let names: CaseNames | null = null;
    let caseLink: HTMLElement | null = null;
    if (info.case_id) {
      const caseId = info.case_id;
      const found = await api.case(caseId).catch(() => null);
      names = found?.names ?? null;
      caseLink = h("p", null, h("a", { href: `#case=${caseId}`, text: `← Case: ${found?.title ?? caseId}` }));
    }
    const linksCard = h("section", { class: "card links", "aria-labelledby": "links-title" });
    const liveBox = h("div", { class: "live" }, h("p", { role: "status", text: "Connecting to the session…" }));
    main.replaceChildren(
      h(
        "div",
        { class: "session-head" },
        caseLink,
        h("h1", { text: info.title }),
        h("p", { class: "detail", text: `${info.playbook} · ${info.status} · session ${info.id}` }),
      ),
      linksCard,
      liveBox,
    );
    renderLinks(info, linksCard, consoleNamer(() => names));
    if (info.status === "ended" && !linksOf(id).mediator) {
      // Still viewable: a new mediator invite is refused for an ended session.
      liveBox.replaceChildren(h("p", { class: "detail", text: "This session has ended." }));
      return;
    }
    let url = linksOf(id).mediator;
    if (!url) {
      try {
        const invite = await api.invite(id, "mediator");
        url = invite.join_url;
        saveLink(id, "mediator", url);
      } catch (err) {
        liveBox.replaceChildren(h("p", { role: "alert", text: errorText(err) }));
        return;
      }
    }
    connectLive(tokenOf(url), liveBox, id);
  }

  function connectLive(token: string, box: HTMLElement, id: string): void {
    const store = new Store(location.origin, token);
    live = store;
    let mounted = false;
    // Expired or revoked console link: forget it, so the session page makes a new one.
    const forgetLink = () => safeSet(`accord:links:${id}`, JSON.stringify({ ...linksOf(id), mediator: undefined }));
    const newLink = () => {
      forgetLink();
      void route();
    };
    store.subscribe(() => {
      if (!mounted && store.state) {
        mounted = true;
        mountLive(box, store, { newLink });
      } else if (!mounted && store.status === "stopped" && store.statusMessage) {
        forgetLink();
        const again = h("button", { type: "button", class: "primary", text: "Reconnect with a new link" });
        again.addEventListener("click", () => {
          again.disabled = true;
          newLink();
        });
        box.replaceChildren(h("section", { class: "card stopped-card" }, h("p", { role: "alert", text: store.statusMessage }), again));
      } else if (!mounted && store.status === "reconnecting") {
        box.replaceChildren(
          h("p", { role: "status", text: store.statusMessage ? `${store.statusMessage} Trying again…` : "The session cannot be reached yet. Still trying…" }),
        );
      }
    });
    store.start();
  }

  function renderLinks(info: SessionInfo & { invites: InviteInfo[] }, card: HTMLElement, consoleNames: (seat: string) => string): void {
    const links = linksOf(info.id);
    const rows = (["partner_a", "partner_b"] as const).map((seat) => {
      const label = consoleNames(seat);
      const input = h("input", { type: "text", readOnly: true, "data-testid": `link-${seat}`, "aria-label": `Invite link for ${label}` });
      const copy = h("button", { type: "button", class: "small", text: "Copy", "data-testid": `copy-${seat}`, "aria-label": `Copy ${label}'s link` });
      const fresh = h("button", { type: "button", class: "small", text: links[seat] ? "New link" : "Make a link" });
      const status = h("span", { class: "hint", role: "status" });
      const fill = (url: string | undefined) => {
        input.value = url ?? "";
        input.placeholder = url ? "" : "Links are shown once; make a new one.";
        copy.disabled = !url;
      };
      fill(links[seat]);
      copy.addEventListener("click", async () => {
        setText(status, (await copyText(input.value, input)) ? "Copied." : "Select the link and copy it.");
      });
      fresh.addEventListener("click", async () => {
        fresh.disabled = true;
        try {
          const invite = await api.invite(info.id, seat);
          saveLink(info.id, seat, invite.join_url);
          fill(invite.join_url);
          setText(status, "New link made. Older links still work until you revoke them.");
        } catch (err) {
          setText(status, errorText(err));
        } finally {
          fresh.disabled = false;
        }
      });
      return h("div", { class: "link-row" }, h("span", { class: "link-label", text: label }), input, h("div", { class: "row" }, copy, fresh), status);
    });
    const invites = h("ul", { class: "invites" });
    for (const inv of info.invites) {
      const what = `${consoleNames(inv.seat)}'s invite from ${new Date(inv.created_at * 1000).toLocaleString()}`;
      const revoke = h("button", { type: "button", class: "small", text: "Revoke", "aria-label": `Revoke ${what}` });
      const outcome = h("span", { class: "hint", role: "status" });
      revoke.disabled = inv.revoked;
      revoke.addEventListener("click", async () => {
        revoke.disabled = true;
        setText(outcome, "");
        try {
          await api.revoke(info.id, inv.id);
          // The visible text stays part of the accessible name.
          setText(revoke, "Revoked");
          revoke.setAttribute("aria-label", `Revoked ${what}`);
        } catch (err) {
          revoke.disabled = false;
          setText(outcome, ` ${errorText(err)}`);
        }
      });
      append(
        invites,
        h("li", null, `${consoleNames(inv.seat)} · made ${new Date(inv.created_at * 1000).toLocaleString()}${inv.revoked ? " · revoked" : ""} `, revoke, outcome),
      );
    }
    card.replaceChildren(
      h("h2", { id: "links-title", text: "Invite links" }),
      h("p", { class: "hint", text: "Send each partner only their own link. The console uses its own mediator link to join." }),
      ...rows,
      h("details", null, h("summary", { text: `All invites (${info.invites.length})` }), invites),
    );
  }

  void start();
}

export function mountSetup(root: HTMLElement): void {
  const token = location.hash.slice(1);
  const main = h("main", { class: "console-main" });
  root.replaceChildren(h("header", { class: "topbar" }, h("span", { class: "brand", text: "Accord" }), h("span", { class: "session-title", text: "First-run setup" })), main);
  document.title = "Setup — Accord";
  if (!token) {
    main.replaceChildren(h("section", { class: "card narrow" }, h("h1", { text: "Setup" }), h("p", { role: "alert", text: "This setup link is incomplete. Use the whole link that `accord serve` printed." })));
    return;
  }
  const email = h("input", { type: "email", autocomplete: "username", required: true, name: "email" });
  const password = h("input", { type: "password", autocomplete: "new-password", required: true, minLength: 10, name: "password" });
  const again = h("input", { type: "password", autocomplete: "new-password", required: true, minLength: 10, name: "password-again" });
  const error = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", text: "Create the account" });
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "setup-title" },
    h("h1", { id: "setup-title", text: "Create the first mediator account" }),
    h("p", { class: "detail", text: "This link works once. Further mediators are added from the shell (accord mediator add)." }),
    field("Email", email),
    field("Password", password, "At least 10 characters."),
    field("Password again", again),
    submit,
    error,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setText(error, "");
    if (password.value !== again.value) {
      setText(error, "The two passwords differ.");
      again.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api.setup(token, email.value, password.value);
      rememberLogin(true);
      location.replace("/console");
    } catch (err) {
      setText(error, errorText(err));
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  api
    .setupStatus()
    .then((s) => {
      if (!s.needs_setup) {
        main.replaceChildren(
          h("section", { class: "card narrow" }, h("h1", { text: "Setup is done" }), h("p", null, "A mediator account exists already. ", h("a", { href: "/console", text: "Log in" }), ".")),
        );
      }
    })
    .catch(() => undefined);
  email.focus();
}
