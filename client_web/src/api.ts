// The HTTP API (docs/API.md): setup, login, cases, sessions, invites.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Mediator {
  id: string;
  email: string;
}
export interface PlaybookInfo {
  name: string;
  title: string;
  description: string | null;
}
export interface SessionInfo {
  id: string;
  title: string;
  playbook: string;
  created_at: number;
  created_by: string | null;
  status: "open" | "ended";
  case_id?: string | null;
}
export interface CaseNames {
  partner_a: string;
  partner_b: string;
}
export interface CaseInfo {
  id: string;
  title: string;
  names: CaseNames;
  owner: string | null;
  created_at: number;
  archived: boolean;
}
export interface CaseSummary extends CaseInfo {
  session_count: number;
  last_session_at: number | null;
}
/** One phase of a session, as the case's timeline tells it from the log. */
export interface TimelinePhase {
  index: number;
  title: string;
  outcome: "done" | "ended_early" | "running" | "not_reached";
  reason?: string;
  started_at?: number;
  ended_at?: number;
}
export interface CaseSession extends SessionInfo {
  phases: TimelinePhase[];
  ended: { at: number; by: string; reason: string } | null;
}
export interface CaseDetail extends CaseInfo {
  sessions: CaseSession[];
  renamed_in?: string[];
}
/** A partner's two answers to a list item (a condition only with a maybe). */
export interface ListGiven {
  answer: "yes" | "maybe" | "no";
  condition: string;
}
export type Reader = "mediator" | "partner_a" | "partner_b";
/** One partner's score on a measure in one session. */
export interface MeasureScore {
  score: number;
  band: string;
}
/** The case's report (docs/API.md, `GET /api/cases/{id}/report`): sessions are
 * named by their index in `sessions`. */
export interface CaseReport {
  case: CaseInfo;
  for: Reader;
  sessions: Array<{ index: number; session_id: string; title: string; playbook: string; created_at: number; status: string }>;
  comfort: {
    scale: string[];
    sessions: number[];
    scenarios: Array<{ id: string; text: string; partner_a: Array<number | null>; partner_b: Array<number | null> }>;
  };
  measures: Array<{
    measure: string;
    title: string;
    low: number;
    high: number;
    reliable_change: number | null;
    higher_is_better: boolean;
    rows: Array<{ session: number; partner_a: MeasureScore | null; partner_b: MeasureScore | null; gap: number | null }>;
    changes: Array<{ seat: "partner_a" | "partner_b"; from: number; to: number; delta: number; verdict: string }>;
  }>;
  values: null | {
    session: number;
    shared_core: Array<{ id: string; title: string }>;
    core_and_not_important: Array<{ id: string; title: string; core_for: "partner_a" | "partner_b" }>;
    negotiable_both: Array<{ id: string; title: string }>;
    own: Array<{ seat: "partner_a" | "partner_b"; id: string; title: string; text: string; place: string }>;
  };
  lists: Array<{
    session: number;
    phase: number;
    title: string;
    shared: Array<{ item: string; text: string; partner_a: ListGiven; partner_b: ListGiven }>;
    disclosed: Array<{ seat: "partner_a" | "partner_b"; item: string; text: string }>;
    /** The mediator's report only. */
    private?: {
      label: string;
      answers: Array<{ item: string; text: string; partner_a: ListGiven | null; partner_b: ListGiven | null }>;
      nos: Array<{ seat: "partner_a" | "partner_b"; item: string; text: string }>;
      undisclosed_nos: Array<{ seat: "partner_a" | "partner_b"; item: string; text: string }>;
    };
  }>;
}
export interface CaseChange {
  title?: string;
  name_a?: string;
  name_b?: string;
  archived?: boolean;
}
export interface InviteInfo {
  id: string;
  seat: string;
  created_at: number;
  expires_at: number;
  revoked: boolean;
}
export interface NewInvite {
  invite_id: string;
  seat: string;
  token: string;
  join_url: string;
  expires_at: number;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check the connection and try again.");
  }
  let data: unknown = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(response.status, err?.code ?? "error", err?.message ?? `The server answered ${response.status}.`);
  }
  return data as T;
}

// A hint that this browser has logged in, so a first visit shows the login form
// without asking the server first (and without a 401 in the console).
const LOGIN_HINT = "accord:logged-in";

export function rememberLogin(on: boolean): void {
  try {
    if (on) window.localStorage.setItem(LOGIN_HINT, "1");
    else window.localStorage.removeItem(LOGIN_HINT);
  } catch {
    // storage disabled: we ask the server every time
  }
}

export function mayBeLoggedIn(): boolean {
  try {
    return window.localStorage.getItem(LOGIN_HINT) === "1";
  } catch {
    return true;
  }
}

export const api = {
  setupStatus: () => call<{ needs_setup: boolean }>("GET", "/setup-status"),
  setup: (token: string, email: string, password: string) =>
    call<{ mediator: Mediator }>("POST", "/setup", { token, email, password }),
  login: (email: string, password: string) => call<{ mediator: Mediator }>("POST", "/login", { email, password }),
  logout: () => call<{ ok: boolean }>("POST", "/logout"),
  me: () => call<{ mediator: Mediator }>("GET", "/me"),
  playbooks: () => call<PlaybookInfo[]>("GET", "/playbooks"),
  sessions: () => call<SessionInfo[]>("GET", "/sessions"),
  session: (id: string) => call<SessionInfo & { invites: InviteInfo[] }>("GET", `/sessions/${encodeURIComponent(id)}`),
  createSession: (playbook: string, title: string | null) =>
    call<SessionInfo>("POST", "/sessions", title ? { playbook, title } : { playbook }),
  cases: () => call<CaseSummary[]>("GET", "/cases"),
  case: (id: string) => call<CaseDetail>("GET", `/cases/${encodeURIComponent(id)}`),
  createCase: (name_a: string, name_b: string, title: string | null) =>
    call<CaseDetail>("POST", "/cases", title ? { name_a, name_b, title } : { name_a, name_b }),
  caseReport: (id: string, reader: Reader = "mediator") =>
    call<CaseReport>("GET", `/cases/${encodeURIComponent(id)}/report${reader === "mediator" ? "" : `?for=${reader}`}`),
  changeCase: (id: string, change: CaseChange) => call<CaseDetail>("PATCH", `/cases/${encodeURIComponent(id)}`, change),
  createCaseSession: (id: string, playbook: string, title: string | null) =>
    call<SessionInfo>("POST", `/cases/${encodeURIComponent(id)}/sessions`, title ? { playbook, title } : { playbook }),
  invite: (id: string, seat: string) =>
    call<NewInvite>("POST", `/sessions/${encodeURIComponent(id)}/invites`, { seat }),
  revoke: (id: string, inviteId: string) =>
    call<InviteInfo>("DELETE", `/sessions/${encodeURIComponent(id)}/invites/${encodeURIComponent(inviteId)}`),
};

/** A refusal's message for people (it says what to do), or a generic one. */
export function errorText(err: unknown): string {
  return err instanceof ApiError ? err.message : "Something went wrong. Try again.";
}
