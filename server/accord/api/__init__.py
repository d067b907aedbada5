"""The HTTP API (Starlette, JSON): accounts, sessions, invites, playbooks, exports, health.

accord.app mounts `build_api(...)`; the shell shares `accord.api.service`.
"""

from __future__ import annotations

from accord.api.errors import CODES, ServiceError
from accord.api.playbooks import LoadedPlaybook, Playbooks
from accord.api.router import build_api
from accord.api.setup import ensure_setup_link

__all__ = ["CODES", "LoadedPlaybook", "Playbooks", "ServiceError", "build_api", "ensure_setup_link"]
