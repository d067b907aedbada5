"""The Socket.IO packet codec: python-socketio's msgpack packets, made total.

A frame that msgpack cannot decode (garbage, or a map with non-string keys,
which we refuse to decode for the hash-flooding risk) would make
python-socketio log a traceback and drop it without answering, leaving the
client waiting for its ack. Instead it becomes a `MALFORMED` event carrying
the packet id when one can be recovered, so the hub answers `invalid_command`
like any other bad command, and nothing is logged at error level.
"""

from __future__ import annotations

from typing import Any, Final

import msgpack
from socketio import packet
from socketio.msgpack_packet import MsgPackPacket

#: The event name a malformed frame is delivered as.
MALFORMED: Final = "__malformed__"


class AccordPacket(MsgPackPacket):  # type: ignore[misc]
    def decode(self, encoded_packet: Any) -> None:
        try:
            super().decode(encoded_packet)
            if not isinstance(getattr(self, "namespace", None), str):
                raise ValueError("namespace")
            return
        except Exception:
            pass
        self.packet_type = packet.EVENT
        self.namespace = "/"
        self.data = [MALFORMED]
        self.id = None
        try:
            # Only to find the ack id; the payload itself is never used.
            raw = msgpack.unpackb(encoded_packet, strict_map_key=False)
        except Exception:
            return
        if isinstance(raw, dict):
            if isinstance(raw.get("id"), int):
                self.id = raw["id"]
            if isinstance(raw.get("nsp"), str):
                self.namespace = raw["nsp"]
