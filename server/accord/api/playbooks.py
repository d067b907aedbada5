"""The playbook shelf: the `*.toml` files in the protocols folder, by name.

A playbook's name is its file name without `.toml`. Files are read on every
request, so an edited playbook is picked up without a restart; parsing and the
exhaustive check are cached by `accord.core.playbook.load_playbook`, keyed on
the text. A session keeps the text it was created with (SessionInfo), so later
edits never change a running session.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from accord.api.errors import ServiceError
from accord.core.playbook import Playbook, PlaybookError, load_playbook

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class LoadedPlaybook:
    name: str
    playbook: Playbook
    source: str  # the TOML text, as stored with a new session


class Playbooks:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def names(self) -> list[str]:
        """The names of the playbook files, sorted (valid or not)."""
        try:
            paths = sorted(self.directory.glob("*.toml"))
        except OSError:
            return []
        return [p.stem for p in paths if p.is_file() and _NAME.match(p.stem)]

    def load(self, name: str) -> LoadedPlaybook:
        """Load and check one playbook; ServiceError `playbook_not_found` or `playbook_invalid`."""
        # The name comes from a request: only plain names, never a path.
        path = self.directory / f"{name}.toml"
        if not _NAME.match(name) or not path.is_file():
            raise ServiceError(
                "playbook_not_found",
                f"There is no playbook named {name!r}; pick one of: "
                f"{', '.join(self.names()) or '(none installed)'}.",
            )
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ServiceError(
                "playbook_invalid",
                f"The playbook file {path.name} cannot be read ({exc}); fix or replace it.",
            ) from None
        try:
            playbook = load_playbook(source, path.name)
        except PlaybookError as exc:
            raise ServiceError(
                "playbook_invalid",
                f"The playbook {name!r} does not pass its checks; run `accord protocols "
                f"check {path}` and fix:\n{exc}",
            ) from None
        return LoadedPlaybook(name=name, playbook=playbook, source=source)

    def available(self) -> list[LoadedPlaybook]:
        """Every playbook that loads; broken files are logged and left out."""
        loaded = []
        for name in self.names():
            try:
                loaded.append(self.load(name))
            except ServiceError as exc:
                logger.warning("playbook %s left out: %s", name, exc.message)
        return loaded
