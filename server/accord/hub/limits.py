"""How fast a seat may send: a token bucket per seat, shared by all its connections
(and the same kind of bucket for new sockets per client address).

A bucket belongs to the seat (session, seat), not to a connection, so a
reconnect does not refill it (docs/PROTOCOL.md, "Limits"). `timeout.call` is
never refused by it while the session is live; a call that only adds a reason
to a running time-out waits its turn instead (`wait_turn`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

#: Commands per second a seat may send on average, in bursts of RATE_BURST.
RATE_PER_S: Final = 20.0
RATE_BURST: Final = 40.0


class Bucket:
    def __init__(
        self,
        rate: float = RATE_PER_S,
        burst: float = RATE_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.refilled = clock()
        self.waiting = 0  # calls waiting for a token (wait_turn)

    def allow(self) -> bool:
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    async def wait_turn(self) -> bool:
        """Wait for a token instead of refusing; False only when more than
        RATE_BURST calls are already waiting on this seat."""
        if self.allow():
            return True
        if self.waiting >= self.burst:
            return False
        self.waiting += 1
        try:
            while not self.allow():
                await asyncio.sleep((1 - self.tokens) / self.rate)
        finally:
            self.waiting -= 1
        return True
