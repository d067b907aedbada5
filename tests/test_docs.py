"""The documents clients are written against stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import accord
from accord.core.commands import COMMAND_TYPES
from accord.core.errors import CODES
from accord.core.events import EVENT_TYPES
from accord.hub.errors import CONNECT_CODES, HUB_CODES, NOTICE_CODES
from accord.settings import _FIELDS

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = (ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")


def _in_table(name: str) -> bool:
    return re.search(rf"^\| `{re.escape(name)}` \|", PROTOCOL, re.M) is not None


def test_the_protocol_version_is_the_servers() -> None:
    assert f"# Accord wire protocol — version {accord.PROTOCOL_VERSION}" in PROTOCOL


def test_every_command_is_documented() -> None:
    missing = [t for t in COMMAND_TYPES if not _in_table(t)]
    assert not missing, f"commands missing from docs/PROTOCOL.md: {missing}"


def test_every_event_is_documented() -> None:
    missing = [t for t in EVENT_TYPES if not _in_table(t)]
    assert not missing, f"events missing from docs/PROTOCOL.md: {missing}"


def test_every_error_code_is_documented() -> None:
    codes = {*CODES, *HUB_CODES, *CONNECT_CODES}
    missing = sorted(c for c in codes if not _in_table(c))
    assert not missing, f"error codes missing from docs/PROTOCOL.md: {missing}"


def test_every_notice_code_is_documented() -> None:
    missing = sorted(c for c in NOTICE_CODES if not _in_table(c))
    assert not missing, f"notice codes missing from docs/PROTOCOL.md: {missing}"


def test_every_setting_is_documented() -> None:
    configuration = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    missing = [
        name
        for name in _FIELDS
        if not re.search(rf"^\| `{name}` \| `ACCORD_{name.upper()}` \|", configuration, re.M)
    ]
    assert not missing, f"settings missing from docs/CONFIGURATION.md: {missing}"


def test_the_readme_names_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "./scripts/serve" in readme and "./scripts/test" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./scripts/test" in ci
