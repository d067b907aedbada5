// The HTTP API (docs/API.md): setup, login, sessions, invites.

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
  invite: (id: string, seat: string) =>
    call<NewInvite>("POST", `/sessions/${encodeURIComponent(id)}/invites`, { seat }),
  revoke: (id: string, inviteId: string) =>
    call<InviteInfo>("DELETE", `/sessions/${encodeURIComponent(id)}/invites/${encodeURIComponent(inviteId)}`),
};
