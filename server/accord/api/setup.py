"""First run: a one-time link that lets whoever started the server create the first mediator.

`accord serve` prints the link when the registry has no mediator; the page at
/setup posts the token from the fragment to POST /api/setup. Only the token's
hash is stored, it works once, and it lapses after a day.
"""

from __future__ import annotations

import time

from accord.security import new_setup_token
from accord.settings import Settings
from accord.store.base import Registry

SETUP_TOKEN_TTL_S = 24 * 3600


async def ensure_setup_link(
    settings: Settings, registry: Registry, now: float | None = None
) -> str | None:
    """A fresh setup link if no mediator exists yet, else None."""
    if await registry.count_mediators() > 0:
        return None
    now = time.time() if now is None else now
    token, token_hash = new_setup_token()
    await registry.add_setup_token(token_hash, now + SETUP_TOKEN_TTL_S)
    return f"{settings.base_url}/setup#{token}"
