"""`accord …` as an operator runs it: the installed console script, a real data dir."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

import accord
from accord import cli
from accord.security import verify_invite_token, verify_password
from accord.settings import Settings
from accord.store.base import SEATS
from accord.store.redis import RedisStore
from accord.store.sqlite import SqliteStore

ACCORD = Path(sys.executable).parent / "accord"
PROTOCOLS = Path(accord.__file__).resolve().parents[2] / "protocols"
PASSWORD = "correct horse battery staple"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update(extra)
    return env


def run(
    *args: str | Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ACCORD), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=60,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


# mediator add


async def test_mediator_add_with_password_on_stdin(tmp_path: Path) -> None:
    done = run(
        "mediator",
        "add",
        "Ann@Example.org",
        "--data-dir",
        tmp_path,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "Added mediator ann@example.org" in done.stdout
    store = await SqliteStore.open(tmp_path / "accord.sqlite3")
    try:
        mediator = await store.mediator_by_email("ann@example.org")
        assert mediator is not None
        assert verify_password(mediator.password_hash, PASSWORD).ok
        audit = await store.audit_entries()
        assert [(e.actor, e.action) for e in audit] == [("shell", "mediator.create")]
    finally:
        await store.close()


def test_mediator_add_refusals(tmp_path: Path) -> None:
    args = ("mediator", "add", "ann@example.org", "--data-dir", tmp_path, "--password-stdin")
    assert run(*args, stdin=PASSWORD + "\n").returncode == 0
    again = run(*args, stdin=PASSWORD + "\n")
    assert again.returncode == 1
    assert "exists already" in again.stderr
    short = run(
        "mediator",
        "add",
        "bob@example.org",
        "--data-dir",
        tmp_path,
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 1
    assert "at least 10 characters" in short.stderr
    no_tty = run("mediator", "add", "bob@example.org", "--data-dir", tmp_path)
    assert no_tty.returncode == 1
    assert "--password-stdin" in no_tty.stderr


def prompt_run(args: list[str], answers: list[str]) -> tuple[int, str]:
    """Run with a terminal, answering each password prompt in turn."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [str(ACCORD), *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=clean_env(),
        start_new_session=True,  # no controlling terminal: getpass uses the pty on stdin
    )
    os.close(follower)
    output = b""
    pending = list(answers)
    answered = 0  # where the output stood at the last answer: a prompt must come after it
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(leader, 1024)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
                if pending and output[answered:].rstrip().endswith(b":"):
                    os.write(leader, pending.pop(0).encode() + b"\n")
                    output += b"\n"
                    answered = len(output)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=10)
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, output.decode(errors="replace")


def test_mediator_add_prompts_and_confirms(tmp_path: Path) -> None:
    args = ["mediator", "add", "ann@example.org", "--data-dir", str(tmp_path)]
    code, output = prompt_run(args, [PASSWORD, PASSWORD + "!"])
    assert code == 1, output
    assert "the two passwords differ" in output
    code, output = prompt_run(args, [PASSWORD, PASSWORD])
    assert code == 0, output
    assert "Password for ann@example.org:" in output
    assert PASSWORD not in output  # never echoed
    assert "Added mediator ann@example.org" in output


# session create


async def test_session_create_json_while_the_database_is_open(tmp_path: Path) -> None:
    # A running server holds the database open; the shell takes turns with it.
    server_side = await SqliteStore.open(tmp_path / "accord.sqlite3")
    try:
        env = clean_env(ACCORD_PUBLIC_URL="https://accord.example.org")
        done = run(
            "session",
            "create",
            "--data-dir",
            tmp_path,
            "--playbook",
            "speaker-listener",
            "--title",
            "Ann & Bo",
            "--json",
            env=env,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert set(result) == {"session_id", "title", "playbook", "case_id", "seats"}
        assert result["case_id"] is None
        assert result["title"] == "Ann & Bo"
        assert result["playbook"] == "speaker-listener"
        assert sorted(result["seats"]) == sorted(SEATS)
        secret = Settings(data_dir=tmp_path).secret_key  # the key the shell made
        for seat, invite in result["seats"].items():
            assert set(invite) == {"join_url", "token", "invite_id", "expires_at"}
            assert invite["join_url"] == f"https://accord.example.org/join#{invite['token']}"
            claims = verify_invite_token(secret, invite["token"], time.time())
            assert (claims.session_id, claims.seat, claims.invite_id) == (
                result["session_id"],
                seat,
                invite["invite_id"],
            )
            assert invite["expires_at"] == pytest.approx(time.time() + 7 * 24 * 3600, abs=60)
        # The server's connection sees the shell's writes.
        session = await server_side.get_session(result["session_id"])
        assert session is not None and session.created_by is None
        invites = await server_side.list_invites(result["session_id"])
        assert sorted(i.seat for i in invites) == sorted(SEATS)
    finally:
        await server_side.close()


# case create, list, show; session create --case


async def test_cases_from_the_shell(tmp_path: Path) -> None:
    added = run(
        "mediator",
        "add",
        "ann@example.org",
        "--data-dir",
        tmp_path,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    args = ("--data-dir", tmp_path)
    done = run("case", "list", *args)
    assert done.returncode == 0, done.stderr
    assert "No cases yet" in done.stdout
    owner = ("--mediator", "Ann@Example.org")
    done = run("case", "create", *args, "--name-a", " Sam ", "--name-b", "Alex", *owner, "--json")
    assert done.returncode == 0, done.stderr
    case = json.loads(done.stdout)
    assert case["names"] == {"partner_a": "Sam", "partner_b": "Alex"}
    assert case["title"] == "Sam & Alex"
    assert case["owner"] is not None
    done = run("case", "create", *args, "--name-a", "Kai", "--name-b", "Robin", "--title", "Spring")
    assert done.returncode == 0, done.stderr
    assert "Created case" in done.stdout and "Spring (Kai & Robin)" in done.stdout
    assert "accord session create --case" in done.stdout

    # Sessions in the case, in order; each starts with the case's names.
    first = run(
        "session", "create", *args, "--case", case["id"], "--playbook", "check-in", "--json"
    )
    assert first.returncode == 0, first.stderr
    first_id = json.loads(first.stdout)["session_id"]
    assert json.loads(first.stdout)["case_id"] == case["id"]
    second = run("session", "create", *args, "--case", case["id"], "--playbook", "speaker-listener")
    assert second.returncode == 0, second.stderr
    assert f"In case {case['id']}." in second.stdout

    store = await SqliteStore.open(tmp_path / "accord.sqlite3")
    try:
        sessions = await store.case_sessions(case["id"])
        assert [s.playbook_name for s in sessions] == ["check-in", "speaker-listener"]
        assert sessions[0].id == first_id
        # The case's owner sees them; the audit trail says the shell made them.
        assert {s.created_by for s in sessions} == {case["owner"]}
        audit = await store.audit_entries(first_id)
        assert (audit[0].actor, audit[0].action) == ("shell", "session.create")
        records = await store.read(first_id)
        assert [r.actor for r in records] == ["system"]
    finally:
        await store.close()

    done = run("case", "list", *args)
    assert done.returncode == 0, done.stderr
    assert f"{case['id']}  Sam & Alex: Sam & Alex, 2 session(s)" in done.stdout
    assert "Spring: Kai & Robin, 0 session(s)" in done.stdout
    mine = json.loads(run("case", "list", *args, "--mediator", "ann@example.org", "--json").stdout)
    assert [c["id"] for c in mine] == [case["id"]]
    done = run("case", "show", *args, case["id"])
    assert done.returncode == 0, done.stderr
    assert "Partner A: Sam" in done.stdout and "Partner B: Alex" in done.stdout
    assert "1. " in done.stdout and "Check-in (open)" in done.stdout
    assert "2. " in done.stdout and "Speaker-Listener (PREP) (open)" in done.stdout
    shown = json.loads(run("case", "show", *args, case["id"], "--json").stdout)
    assert [s["id"] for s in shown["sessions"]][:1] == [first_id]


def test_case_refusals(tmp_path: Path) -> None:
    args = ("--data-dir", tmp_path)
    done = run("case", "create", *args, "--name-a", "  ", "--name-b", "Alex")
    assert done.returncode == 1
    assert "name is empty" in done.stderr
    done = run("case", "create", *args, "--name-a", "x" * 41, "--name-b", "Alex")
    assert (done.returncode, "at most 40" in done.stderr) == (1, True)
    done = run("case", "create", *args, "--name-a", "A", "--name-b", "B", "--mediator", "no@x.org")
    assert done.returncode == 1
    assert "there is no mediator no@x.org" in done.stderr
    done = run("case", "show", *args, "nope")
    assert done.returncode == 1
    assert "There is no case 'nope'" in done.stderr
    done = run("session", "create", *args, "--case", "nope", "--playbook", "check-in")
    assert done.returncode == 1
    assert "There is no case 'nope'" in done.stderr
    assert run("case", "create", *args, "--name-a", "A").returncode == 2  # --name-b is required
    assert "No cases yet" in run("case", "list", *args).stdout  # nothing was made


def test_session_create_plain_output(tmp_path: Path) -> None:
    done = run("session", "create", "--data-dir", tmp_path, "--playbook", "check-in")
    assert done.returncode == 0, done.stderr
    assert "Created session" in done.stdout
    assert "Check-in (check-in)" in done.stdout
    for seat in SEATS:
        assert f"  {seat}" in done.stdout
    assert done.stdout.count("http://127.0.0.1:8700/join#") == 3


def test_session_create_links_point_at_the_running_server(tmp_path: Path) -> None:
    # `accord serve` on this data dir says where it runs (here: this process).
    (tmp_path / "server.json").write_text(
        json.dumps({"pid": os.getpid(), "public_url": "http://127.0.0.1:9123"})
    )
    done = run("session", "create", "--data-dir", tmp_path, "--playbook", "check-in")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("http://127.0.0.1:9123/join#") == 3
    # --public-url wins over it.
    done = run(
        "session",
        "create",
        "--data-dir",
        tmp_path,
        "--playbook",
        "check-in",
        "--public-url",
        "https://accord.example.org",
    )
    assert done.stdout.count("https://accord.example.org/join#") == 3
    # A server that is gone says nothing.
    (tmp_path / "server.json").write_text(json.dumps({"pid": 2**22 + 7, "public_url": "x"}))
    done = run("session", "create", "--data-dir", tmp_path, "--playbook", "check-in")
    assert done.stdout.count("http://127.0.0.1:8700/join#") == 3


def test_session_create_with_an_unknown_playbook(tmp_path: Path) -> None:
    done = run("session", "create", "--data-dir", tmp_path, "--playbook", "nope")
    assert done.returncode == 1
    assert "no playbook named 'nope'" in done.stderr
    assert "speaker-listener" in done.stderr


def test_session_create_reads_the_config_file(tmp_path: Path) -> None:
    protocols = tmp_path / "protocols"
    protocols.mkdir()
    (protocols / "mine.toml").write_text((PROTOCOLS / "check-in.toml").read_text())
    config = tmp_path / "accord.toml"
    config.write_text('protocols_dir = "protocols"\npublic_url = "https://c.example"\n')
    done = run(
        "session",
        "create",
        "--data-dir",
        tmp_path / "d",
        "--config",
        config,
        "--playbook",
        "mine",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["seats"]["mediator"]["join_url"].startswith(
        "https://c.example/join#"
    )


def test_bad_settings_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "accord.toml"
    config.write_text("colour = 'blue'\n")
    done = run("session", "create", "--config", config, "--playbook", "check-in")
    assert done.returncode == 2
    assert "unknown setting 'colour'" in done.stderr


async def test_shell_commands_work_on_a_redis_deployment(tmp_path: Path, redis_url: str) -> None:
    args = ("--data-dir", tmp_path, "--redis", redis_url)
    done = run("session", "create", *args, "--playbook", "check-in", "--json")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    # redis_url from the environment works the same as --redis.
    env = clean_env(ACCORD_REDIS_URL=redis_url)
    added = run(
        "mediator",
        "add",
        "ann@example.org",
        "--data-dir",
        tmp_path,
        "--password-stdin",
        stdin=PASSWORD + "\n",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    assert not (tmp_path / "accord.sqlite3").exists()
    store = await RedisStore.open(redis_url)
    try:
        session = await store.get_session(created["session_id"])
        assert session is not None
        assert session.playbook_name == "check-in"
        invites = await store.list_invites(session.id)
        assert sorted(i.seat for i in invites) == sorted(SEATS)
        assert await store.mediator_by_email("ann@example.org") is not None
    finally:
        await store.close()


def test_shell_commands_fail_cleanly_without_redis(tmp_path: Path) -> None:
    url = "redis://127.0.0.1:1/0"  # nothing listens there
    started = time.monotonic()
    done = run("session", "create", "--redis", url, "--playbook", "check-in")
    assert done.returncode == 1
    assert f"cannot open the database {url}" in done.stderr
    assert time.monotonic() - started < 10


# protocols check


def test_protocols_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(PROTOCOLS.glob("*.toml"))
    assert cli.main(["protocols", "check", *map(str, files)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{f}: OK" for f in files]


def test_protocols_check_reports_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ntitle = "Bad"\n\n[[phases]]\ntype = "dialogue"\n')
    good = PROTOCOLS / "check-in.toml"
    done = run("protocols", "check", bad, good)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert f"{good}: OK" in lines
    problems = [line for line in lines if line.startswith(f"{bad}:")]
    assert problems and all(line.count(": ") >= 2 for line in problems)
    assert any(line.startswith(f"{bad}:4: lobby_first: ") for line in problems)


def test_protocols_check_unreadable_file(tmp_path: Path) -> None:
    done = run("protocols", "check", tmp_path / "missing.toml")
    assert done.returncode == 1
    assert f"{tmp_path / 'missing.toml'}:0: unreadable:" in done.stdout


# serve: argument parsing only (running the server is accord.app's, tested there)


def test_serve_flags_become_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("ACCORD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ACCORD_PORT", "9100")
    monkeypatch.setenv("ACCORD_LOG_LEVEL", "debug")
    config = tmp_path / "accord.toml"
    config.write_text('host = "0.0.0.0"\ngrace_period_s = 5\n')
    args = cli._parser().parse_args(
        [
            "serve",
            "--port",
            "9200",
            "--data-dir",
            str(tmp_path),
            "--config",
            str(config),
            "--redis",
            "redis://127.0.0.1:6379/0",
            "--public-url",
            "https://a.example",
        ]
    )
    settings = cli.serve_settings(args)
    assert settings.port == 9200  # flag over env
    assert settings.log_level == "debug"  # env
    assert settings.host == "0.0.0.0"  # config file
    assert settings.grace_period_s == 5
    assert settings.data_dir == tmp_path
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.base_url == "https://a.example"


def test_usage_errors_exit_2() -> None:
    assert run("session", "create").returncode == 2  # --playbook is required
    assert run().returncode == 2
    assert run("--version").stdout.strip() == f"accord {accord.__version__}"
