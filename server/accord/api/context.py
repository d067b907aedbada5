"""What every API handler works with: the collaborators, the clock, and who is asking."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from accord.api.errors import ServiceError
from accord.api.playbooks import Playbooks
from accord.api.service import case_for
from accord.core.seats import Partner
from accord.settings import Settings
from accord.store.base import Case, EventLog, Invite, Mediator, Registry, SessionInfo

#: Renames a partner in a live session (the hub's `rename`): (session id, seat, name).
Rename = Callable[[str, Partner, str], Awaitable[bool]]


async def no_live_sessions(session_id: str, seat: Partner, name: str) -> bool:
    return False


#: The login cookie holds only this key: the mediator's id.
SESSION_KEY = "mid"


class LoginThrottle:
    """At most `limit` failed logins per email in `window_s`; then refuse until they age out.

    Kept per process: with several nodes an attacker gets `limit` tries per node,
    still far too few to guess an argon2-hashed password.
    """

    def __init__(self, limit: int = 10, window_s: float = 900.0, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def blocked(self, key: str, now: float) -> bool:
        return len(self._recent(key, now)) >= self.limit

    def failed(self, key: str, now: float) -> None:
        if key not in self._failures and len(self._failures) >= self.max_keys:
            for old in list(self._failures):
                self._recent(old, now)  # drops keys whose failures have aged out
            if len(self._failures) >= self.max_keys:
                self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


@dataclass
class ApiContext:
    settings: Settings
    registry: Registry
    log: EventLog
    playbooks: Playbooks
    on_invite_revoked: Callable[[Invite], Awaitable[None]]
    clock: Callable[[], float]
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    #: A case renamed over HTTP renames its partners in its open sessions too.
    rename_in_session: Rename = no_live_sessions

    async def mediator(self, request: Request) -> Mediator:
        """The logged-in mediator; ServiceError `login_required` otherwise."""
        mediator_id = request.session.get(SESSION_KEY)
        mediator = None
        if isinstance(mediator_id, str):
            mediator = await self.registry.mediator_by_id(mediator_id)
        if mediator is None:
            if mediator_id is not None:
                request.session.clear()  # the account is gone: drop the stale cookie
            raise ServiceError("login_required", "You are not logged in; log in and try again.")
        return mediator

    async def session_of(self, mediator: Mediator, session_id: str) -> SessionInfo:
        """A session this mediator may act on: their own, or one made from the shell.

        Anyone else's reads as not found, so ids cannot be probed.
        """
        session = await self.registry.get_session(session_id)
        if session is None or session.created_by not in (mediator.id, None):
            raise ServiceError(
                "session_not_found",
                f"There is no session {session_id!r} among yours; check the link or list "
                "your sessions.",
            )
        return session

    async def case_of(self, mediator: Mediator, case_id: str) -> Case:
        """A case this mediator may act on: their own, or one made from the shell.

        Anyone else's reads as not found (`case_not_found`), like sessions."""
        return await case_for(self.registry, case_id, mediator.id)
