"""What a seat is shown: the snapshot a joining client receives, and the light
update the hub sends with every batch of events.

The state is never sent as it is (see state.py): each phase type and overlay
hides what a seat may not see of its own state (a partner sees only its own
debrief answer counted, its own values sort and yes / maybe / no answers).
Added for the page, so that a client renders without knowing any rule
(DESIGN.md, "Permissions come from the server"):

- `role`, `prompt` ({role, stage, text}): who the seat is now, and its headline;
- `may`: the command types `decide` would take from it now (permissions.py);
- `overrides`: those of `may` that need a `reason` now (every instance of
  them is a mediator's override, logged with its reason);
- `hints`: per command of `may`, what a client needs to fill it in: a
  statement's `max_chars`, a reflection's next `step`, the queue's `first`
  (granted without a reason), the minutes a time-out may still be extended
  by (`max_minutes`), a debrief's `prompts`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from msgspec.structs import replace

from accord.core.overlays import BY_STATE as OVERLAY_OF
from accord.core.permissions import allowed, may, prompt, role_of
from accord.core.phases import BY_STATE as PHASE_OF
from accord.core.schema import Playbook
from accord.core.seats import Seat
from accord.core.state import SessionState

__all__ = ["may_send", "playbook_summary", "role_of", "seat_update", "seat_updates", "seat_view"]

#: The old name of `permissions.may`.
may_send = may


def playbook_summary(playbook: Playbook) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(playbook)
    return data


def seat_view(state: SessionState, seat: Seat) -> dict[str, Any]:
    """The snapshot for one seat: the state as that seat may see it, with its
    role, prompt and possible acts."""
    data: dict[str, Any] = msgspec.to_builtins(state)
    return _for_seat(state, seat, data)


def seat_update(state: SessionState, seat: Seat) -> dict[str, Any]:
    """`seat_view` without the playbook (which a client has from its snapshot):
    what the hub sends each seat with every batch of events."""
    return seat_updates(state, (seat,))[seat]


def seat_updates(state: SessionState, seats: Iterable[Seat]) -> dict[Seat, dict[str, Any]]:
    """`seat_update` for several seats at once: the state is converted once,
    and each seat gets its own copy of the parts a seat's view may change."""
    # Without the playbook, which a client has from its snapshot (and which is
    # most of the state's bytes): `replace` does not validate its fields.
    base: dict[str, Any] = msgspec.to_builtins(replace(state, playbook=None))
    del base["playbook"]
    views: dict[Seat, dict[str, Any]] = {}
    for seat in seats:
        data = dict(base)
        for part in ("phase", "overlay"):
            if isinstance(data[part], dict):
                data[part] = dict(data[part])
        views[seat] = _for_seat(state, seat, data)
    return views


def _for_seat(state: SessionState, seat: Seat, data: dict[str, Any]) -> dict[str, Any]:
    data["ended"] = state.ended
    told = prompt(state, seat)
    data["role"] = told.role
    acts = allowed(state, seat)
    data["may"] = [name for name, _ in acts]
    data["prompt"] = told._asdict()
    data["overrides"] = [name for name, take in acts if take.override and take.override(state)]
    data["hints"] = {name: take.hint(state, seat) for name, take in acts if take.hint}
    phase = PHASE_OF.get(state.phase.__class__)
    if phase is not None and phase.view is not None:
        phase.view(data, seat)
    overlay = state.overlay
    if overlay is not None:
        layer = OVERLAY_OF[overlay.__class__]
        if layer.view is not None:
            layer.view(data, seat)
    return data
