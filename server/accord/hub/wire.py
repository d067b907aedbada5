"""Records to wire dictionaries (docs/PROTOCOL.md, "Events")."""

from __future__ import annotations

from typing import Any

import msgpack

from accord.store.base import Record


def record_to_wire(record: Record) -> dict[str, Any]:
    """An event as clients see it: its fields plus `seq`, `at` and `actor`."""
    event: dict[str, Any] = msgpack.unpackb(record.body, raw=False)
    event["seq"] = record.seq
    event["at"] = record.at
    event["actor"] = record.actor
    return event
