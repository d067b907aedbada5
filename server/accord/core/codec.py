"""Events and states to and from bytes and plain data (msgpack; msgspec-backed)."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from accord.core.events import AnyEvent, Event
from accord.core.state import SessionState

_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(AnyEvent)


def encode_event(event: Event) -> bytes:
    """The stored form: a msgpack map with `type`, `audience` and the fields."""
    return _encoder.encode(event)


def decode_event(body: bytes) -> AnyEvent:
    event: AnyEvent = _decoder.decode(body)
    return event


def event_to_builtins(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(event)
    return data


def state_to_builtins(state: SessionState) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(state)
    return data
