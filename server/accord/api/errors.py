"""Refusals of the HTTP API and the shell: one exception, one table of codes.

Every refusal is `ServiceError(code, message)`: the code is a stable snake_case
word (clients branch on it), the message a sentence that says what to do. The
service functions shared with the CLI raise it without knowing about HTTP; the
API turns it into `{"error": {"code", "message"}}` with the status in `CODES`.
docs/API.md lists every code; a test keeps the two in step.
"""

from __future__ import annotations

from typing import Final


class ServiceError(Exception):
    def __init__(self, code: str, message: str) -> None:
        assert code in CODES, code
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return CODES[self.code][0]


#: code -> (HTTP status, what it means)
CODES: Final[dict[str, tuple[int, str]]] = {
    # requests in general
    "invalid_json": (400, "The body is not a JSON document."),
    "invalid_request": (422, "The body has a missing, unknown or mistyped field."),
    "request_too_large": (413, "The body is larger than the server accepts."),
    "origin_not_allowed": (403, "A browser sent the request from an origin not allowed."),
    "not_found": (404, "No such endpoint."),
    "method_not_allowed": (405, "The endpoint does not take this method."),
    "store_unavailable": (503, "The database cannot be reached; retry later."),
    "internal_error": (500, "The server failed; the request may or may not have taken effect."),
    # accounts
    "setup_token_invalid": (403, "The setup link is wrong, used or expired."),
    "already_set_up": (409, "A mediator account exists already; setup is closed."),
    "invalid_email": (422, "The email address is not usable."),
    "password_too_short": (422, "The password is shorter than 10 characters."),
    "password_too_long": (422, "The password is longer than 1024 characters."),
    "email_taken": (409, "A mediator with this email exists already."),
    "login_failed": (401, "The email or the password is wrong."),
    "too_many_attempts": (429, "Too many failed logins for this email; wait and retry."),
    "login_required": (401, "The request needs a logged-in mediator."),
    # sessions, invites, playbooks
    "playbook_not_found": (404, "No playbook of that name in the protocols folder."),
    "playbook_invalid": (422, "The playbook file does not pass its checks."),
    "session_not_found": (404, "No such session, or not one of yours."),
    "session_ended": (409, "The session has ended; it takes no new invites."),
    "invite_not_found": (404, "No such invite in this session."),
    # cases
    "case_not_found": (404, "No such case, or not one of yours."),
    "case_archived": (409, "The case is archived; it takes no new sessions."),
    "invalid_name": (422, "A partner's display name is empty or longer than 40 characters."),
}
