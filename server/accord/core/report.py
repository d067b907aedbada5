"""A case's report: what its sessions' records say, across sessions, for one reader.

The console's case page draws its progress from this (docs/API.md, "GET
/api/cases/{id}/report"): each partner's comfort per scenario over the
sessions, each partner's questionnaire score per session with the gap between
them and reliable change, the latest values reveal, and every list reveal.

Why one function for every reader: "reports meant for partners carry only what
partners saw" (issue 11). The report is built only from events whose audience
holds the reader, so a partner's report cannot carry what never reached that
partner: not the other's ratings or scores (unless the playbook shared them),
not a no that was not disclosed. The mediator's report adds the locked list
answers, marked private. Pure: the API reads the logs and hands them here.

Each phase type declares its part (`PhaseType.report`, in its own module):
this module only gathers the sessions and filters what the reader saw.

Reading the records, not the state: a rating is "the last one before done"
(a later `comfort.rated` for the same scenario replaces an earlier one, and
none can follow `comfort.finished`), and a score is the core's own
`measure.scored`, with the measure's range and reliable-change threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from accord.core.base import Event, PhaseState
from accord.core.kinds import REPORT_PRIVATE, Segment, SessionLog
from accord.core.phases import REGISTRY
from accord.core.seats import Seat
from accord.core.session import PhaseStarted

__all__ = ["PRIVATE", "Segment", "SessionLog", "build"]

#: The label on everything in a report that only the mediator ever saw.
PRIVATE = REPORT_PRIVATE


def segments(session: SessionLog, reader: Seat) -> list[Segment]:
    """The session cut into its phases, with only what `reader` was sent."""
    cut: list[Segment] = []
    index, title = -1, ""
    phase: PhaseState | None = None
    events: list[Event] = []
    for _, e in session.events:
        if reader not in e.audience:
            continue
        if isinstance(e, PhaseStarted):
            cut.append(Segment(index, title, phase, events))
            index, title, events = e.index, e.title, []
            phase = e.phase if isinstance(e.phase, PhaseState) else None  # unset in v1 logs
        events.append(e)
    cut.append(Segment(index, title, phase, events))
    return cut


def build(sessions: Sequence[SessionLog], reader: Seat) -> dict[str, Any]:
    """The report of `sessions` (the case's, oldest first) for `reader`."""
    seen = [segments(s, reader) for s in sessions]
    report: dict[str, Any] = {
        "for": reader,
        "sessions": [
            {
                "index": i,
                "session_id": s.id,
                "title": s.title,
                "playbook": s.playbook_name,
                "created_at": s.created_at,
                "status": s.status,
            }
            for i, s in enumerate(sessions)
        ],
    }
    for phase_type in REGISTRY.values():
        if phase_type.report is not None:
            key, make = phase_type.report
            report[key] = make(sessions, seen, reader)
    return report
