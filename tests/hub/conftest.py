"""Fixtures for the hub tests: a real `accord serve` process on a free port with a
temporary data dir, sessions made with the real CLI, a logged-in mediator on the
HTTP API, and Python Socket.IO seats that are always closed at teardown."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hubtest import (
    ACCORD,
    JS_DIR,
    MEDIATOR_EMAIL,
    PASSWORD,
    Api,
    Seats,
    Server,
    clean_env,
    write_protocols,
)


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    assert path, "node (20 or newer) is needed for the JS client tests"
    if not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install tests/js"
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            timeout=300,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"npm ci in tests/js failed:\n{done.stdout}{done.stderr}"
    return path


@pytest.fixture
def protocols_dir(tmp_path: Path) -> Path:
    return write_protocols(tmp_path / "protocols")


@pytest.fixture(scope="session")
def seeded_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the secret key and one mediator account, made once with
    `accord mediator add` (argon2 is slow on purpose) and copied for each server."""
    data_dir = tmp_path_factory.mktemp("seed") / "data"
    add = ["mediator", "add", MEDIATOR_EMAIL, "--password-stdin", "--data-dir", str(data_dir)]
    subprocess.run(
        [str(ACCORD), *add],
        input=PASSWORD + "\n",
        env=clean_env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return data_dir


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for `accord serve`; parametrize it to change a setting."""
    return {}


@pytest.fixture
async def server(
    tmp_path: Path, protocols_dir: Path, seeded_data_dir: Path, server_env: dict[str, str]
) -> AsyncIterator[Server]:
    """`accord serve` (grace period 0.5 s unless `server_env` says otherwise); stopped
    at teardown, where its log must show no traceback (a handler that crashed
    would otherwise go unseen)."""
    data_dir = tmp_path / "data"
    shutil.copytree(seeded_data_dir, data_dir)
    process = Server(data_dir, protocols_dir, tmp_path / "server.log", **server_env)
    await process.start()
    try:
        yield process
    finally:
        process.stop()
    assert not process.log_errors(), process.log()


@pytest.fixture
async def api(server: Server) -> AsyncIterator[Api]:
    """The HTTP API, logged in as the seeded mediator."""
    client = Api(server.url)
    try:
        await client.login(MEDIATOR_EMAIL, PASSWORD)
        yield client
    finally:
        await client.close()


@pytest.fixture
async def seats(server: Server) -> AsyncIterator[Seats]:
    opened = Seats(server)
    try:
        yield opened
    finally:
        await opened.close()
