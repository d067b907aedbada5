"""Fixtures for the browser tests: the built web client, one Chromium (Debian's,
through Playwright), and a real `accord serve` per test.

The server process is the hub tests' `Server` (tests/hub/hubtest.py): a real
`accord serve` on a free port with a temporary data dir, which can be SIGKILLed
and started again on the same port and data. The protocols folder holds the
shipped playbooks plus `web-dialogue`, whose time-outs last seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hub"))
from hubtest import Server, write_protocols
from webtest import run

ROOT = Path(__file__).resolve().parents[2]
WEB_OUT = ROOT / "server" / "accord" / "static" / "app"
CHROMIUM = os.environ.get("ACCORD_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: Speaker-listener with a short statement limit and time-outs of seconds:
#: a partner's time-out lasts 3 s unless the mediator extends it.
WEB_PLAYBOOK = """\
name = "web-dialogue"
title = "Speaker-Listener (browser tests)"
description = "Speaker-listener with three-second time-outs."
version = 1

[time_out]
default_minutes = 0.05
min_minutes = 0.01
max_minutes = 1
debrief_prompts = [
    "How are you feeling right now, from 0 (calm) to 10 (overwhelmed)?",
    "What do you need to go on?",
]

[[phases]]
type = "lobby"
title = "Waiting room"

[[phases]]
type = "dialogue"
title = "Speaker-listener"
statement_max_chars = 280
paraphrase_required = true
auto_round_robin = true
first_speaker = "partner_a"
ends = "mediator"

[[phases]]
type = "debrief"
title = "Closing debrief"
"""


@pytest.fixture(scope="session")
def web_client() -> Path:
    """The web client, built from client_web/ when its sources changed (as scripts/serve does)."""
    result = subprocess.run(
        ["bash", "-c", "source scripts/_env.sh && build_web_client"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"building the web client failed:\n{result.stderr}"
    assert (WEB_OUT / "index.html").exists() and (WEB_OUT / "assets" / "app.js").exists()
    return WEB_OUT


# Per module, not per session: Playwright's sync API keeps an event loop running
# in the main thread, which async tests collected after these must not find.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright, web_client: Path) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def web_server(tmp_path: Path, web_client: Path) -> Iterator[Server]:
    """`accord serve` with the web-dialogue playbook; its log must stay free of errors."""
    protocols = write_protocols(tmp_path / "protocols")
    (protocols / "web-dialogue.toml").write_text(WEB_PLAYBOOK, encoding="utf-8")
    server = Server(tmp_path / "data", protocols, tmp_path / "server.log")
    run(server.start())
    try:
        yield server
    finally:
        server.stop()
    log = server.log()
    assert "Traceback" not in log and " ERROR " not in log, log
