"""`accord …`: the operator's shell.

    accord serve [--host H] [--port P] [--data-dir D] [--config F] [--redis URL] ...
    accord mediator add EMAIL [--password-stdin] [--redis URL]
    accord session create --playbook NAME [--case ID] [--title T] [--json] [--redis URL]
    accord case create --name-a A --name-b B [--title T] [--mediator EMAIL] [--json]
    accord case list [--mediator EMAIL] [--json]
    accord case show ID [--json]
    accord protocols check FILE...
    accord bench [--quick] [--mode embedded|redis] ...   (from a source checkout)

Shell commands open the store directly, the SQLite file (it takes turns with a
running server through SQLite's file locks) or, with `--redis URL` (or
`redis_url` set), the Redis of a distributed deployment, and do their work
through accord.api.service, the same functions the HTTP API uses. Exit status:
0 done, 1 refused or failed, 2 bad usage or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import getpass
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import accord
from accord.api import service
from accord.api.errors import ServiceError
from accord.api.playbooks import Playbooks
from accord.settings import Settings, SettingsError
from accord.store.base import SEATS, Mediator, StoreError
from accord.store.redis import RedisStore, redacted
from accord.store.sqlite import SqliteStore

T = TypeVar("T")


class Failure(Exception):
    """A command could not do its job; the message says why, for the operator."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    # `accord bench` takes the harness's own options, unparsed here.
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "passthrough", False):
        args.rest = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        code: int = args.run(args)
    except SettingsError as exc:
        print(f"accord: bad setting: {exc}", file=sys.stderr)
        return 2
    except Failure as exc:
        print(f"accord: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accord", description="Accord: a real-time server for mediated sessions."
    )
    parser.add_argument("--version", action="version", version=f"accord {accord.__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    _add_serve(commands)
    _add_bench(commands)

    mediator = commands.add_parser("mediator", help="manage mediator accounts")
    mediator_commands = mediator.add_subparsers(title="commands", required=True, metavar="COMMAND")
    add = mediator_commands.add_parser("add", help="create a mediator account")
    add.add_argument("email", metavar="EMAIL")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    _add_store_options(add)
    add.set_defaults(run=_mediator_add)

    session = commands.add_parser("session", help="manage sessions")
    session_commands = session.add_subparsers(title="commands", required=True, metavar="COMMAND")
    create = session_commands.add_parser(
        "create", help="create a session and one invite link per seat"
    )
    create.add_argument("--playbook", required=True, metavar="NAME", help="a playbook's name")
    create.add_argument("--title", metavar="TITLE", help="default: the playbook's title")
    create.add_argument(
        "--case",
        metavar="ID",
        help="create it in this case: it starts with the case's names for the partners",
    )
    create.add_argument("--json", action="store_true", help="print the result as JSON")
    create.add_argument(
        "--public-url",
        metavar="URL",
        help="the address in the join links (default: that of the server running on this "
        "data dir, else the configured public_url)",
    )
    _add_store_options(create)
    create.set_defaults(run=_session_create)

    _add_case(commands)

    protocols = commands.add_parser("protocols", help="work with playbook files")
    protocol_commands = protocols.add_subparsers(title="commands", required=True, metavar="COMMAND")
    check = protocol_commands.add_parser("check", help="check playbook files")
    check.add_argument("files", nargs="+", metavar="FILE", type=Path)
    check.set_defaults(run=_protocols_check)
    return parser


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help="where the data lives")
    parser.add_argument("--config", type=Path, metavar="FILE", help="a TOML config file")
    parser.add_argument(
        "--redis", metavar="URL", help="work on the Redis of a distributed deployment"
    )


def _settings(args: argparse.Namespace) -> Settings:
    """Settings for a shell command: flags > environment > --config file > defaults."""
    return Settings.load(
        {"data_dir": args.data_dir, "redis_url": args.redis},
        env=os.environ,
        config_path=args.config,
    )


# --- mediator add --------------------------------------------------------------


def _mediator_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise Failure("no terminal to ask for the password on; pass it with --password-stdin")
    else:
        password = getpass.getpass(f"Password for {args.email}: ")
        if getpass.getpass("Again, to confirm: ") != password:
            raise Failure("the two passwords differ; nothing was changed")
    mediator = asyncio.run(_add_mediator(settings, args.email, password))
    print(f"Added mediator {mediator.email} (id {mediator.id}).")
    return 0


async def _add_mediator(settings: Settings, email: str, password: str) -> Mediator:
    async with _store(settings) as store:
        return await _refusals(service.add_mediator(store, email, password, time.time()))


# --- session create ------------------------------------------------------------


def _session_create(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.public_url is not None:
        settings = dataclasses.replace(settings, public_url=args.public_url)
    elif settings.public_url is None and settings.redis_url is None:
        from accord.app import running_address

        url = running_address(settings)
        if url is not None:
            settings = dataclasses.replace(settings, public_url=url)
    result = asyncio.run(_create_session(settings, args.playbook, args.title, args.case))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"Created session {result['session_id']}: {result['title']} ({result['playbook']}).")
    if result["case_id"] is not None:
        print(f"In case {result['case_id']}.")
    print("Join links; send each person only their own:")
    for seat, invite in result["seats"].items():
        print(f"  {seat:<10} {invite['join_url']}")
    expires = min(invite["expires_at"] for invite in result["seats"].values())
    print(f"The links expire {datetime.fromtimestamp(expires, UTC):%Y-%m-%d %H:%M} UTC.")
    return 0


async def _create_session(
    settings: Settings, playbook: str, title: str | None, case_id: str | None
) -> dict[str, Any]:
    now = time.time()
    async with _store(settings) as store:
        case = None
        if case_id is not None:
            case = await _refusals(service.case_for(store, case_id, None))
        # Made from the shell, like a session without a case; in a case the
        # case's owner sees it (the case's sessions are listed with the case).
        created_by = None if case is None else case.owner
        session = await _refusals(
            service.create_session(
                store,
                Playbooks(settings.protocols_dir),
                playbook,
                title,
                created_by,
                now,
                case=case,
                log=store,
                actor="shell",
            )
        )
        seats = {}
        for seat in SEATS:
            invite, token, join_url = await _refusals(
                service.create_invite(settings, store, session, seat, None, now)
            )
            seats[seat] = {
                "join_url": join_url,
                "token": token,
                "invite_id": invite.id,
                "expires_at": invite.expires_at,
            }
    return {
        "session_id": session.id,
        "title": session.title,
        "playbook": session.playbook_name,
        "case_id": session.case_id,
        "seats": seats,
    }


# --- case create / list / show ---------------------------------------------------


def _add_case(commands: Any) -> None:
    case = commands.add_parser("case", help="manage cases (a couple's sessions over time)")
    case_commands = case.add_subparsers(title="commands", required=True, metavar="COMMAND")
    create = case_commands.add_parser("create", help="open a case for a couple")
    create.add_argument("--name-a", required=True, metavar="NAME", help="partner A's display name")
    create.add_argument("--name-b", required=True, metavar="NAME", help="partner B's display name")
    create.add_argument("--title", metavar="TITLE", help='default: "<name A> & <name B>"')
    create.add_argument(
        "--mediator",
        metavar="EMAIL",
        help="the mediator who owns it (default: none, and every mediator sees it, "
        "like a session made from the shell)",
    )
    create.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_store_options(create)
    create.set_defaults(run=_case_create)

    listing = case_commands.add_parser("list", help="list cases, oldest first")
    listing.add_argument("--mediator", metavar="EMAIL", help="only this mediator's cases")
    listing.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_store_options(listing)
    listing.set_defaults(run=_case_list)

    show = case_commands.add_parser("show", help="a case, its names and its sessions in order")
    show.add_argument("case_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_store_options(show)
    show.set_defaults(run=_case_show)


async def _owner(store: SqliteStore | RedisStore, email: str | None) -> str | None:
    if email is None:
        return None
    mediator = await store.mediator_by_email(service.normalize_email(email))
    if mediator is None:
        raise Failure(f"there is no mediator {email}; add one with `accord mediator add {email}`")
    return mediator.id


def _case_create(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def work() -> dict[str, Any]:
        async with _store(settings) as store:
            owner = await _owner(store, args.mediator)
            case = await _refusals(
                service.create_case(store, args.name_a, args.name_b, args.title, owner, time.time())
            )
            return service.case_json(case)

    case = asyncio.run(work())
    if args.json:
        print(json.dumps(case, indent=2))
        return 0
    names = case["names"]
    print(
        f"Created case {case['id']}: {case['title']} ({names['partner_a']} & {names['partner_b']})."
    )
    print(f"Create its sessions with: accord session create --case {case['id']} --playbook NAME")
    return 0


def _case_list(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def work() -> list[dict[str, Any]]:
        async with _store(settings) as store:
            owner = await _owner(store, args.mediator)
            cases = await _refusals(store.list_cases(owner))
            listed = []
            for case in cases:
                sessions = await _refusals(store.case_sessions(case.id))
                listed.append({**service.case_json(case), "session_count": len(sessions)})
            return listed

    cases = asyncio.run(work())
    if args.json:
        print(json.dumps(cases, indent=2))
        return 0
    if not cases:
        print("No cases yet; open one with: accord case create --name-a A --name-b B")
    for case in cases:
        names = case["names"]
        archived = " (archived)" if case["archived"] else ""
        print(
            f"{case['id']}  {case['title']}{archived}: {names['partner_a']} & "
            f"{names['partner_b']}, {case['session_count']} session(s)"
        )
    return 0


def _case_show(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def work() -> dict[str, Any]:
        async with _store(settings) as store:
            case = await _refusals(service.case_for(store, args.case_id, None))
            sessions = await _refusals(store.case_sessions(case.id))
            timeline = await _refusals(service.case_timeline(store, sessions))
            return {**service.case_json(case), "sessions": timeline}

    case = asyncio.run(work())
    if args.json:
        print(json.dumps(case, indent=2))
        return 0
    names = case["names"]
    print(f"Case {case['id']}: {case['title']}{' (archived)' if case['archived'] else ''}")
    print(f"  Partner A: {names['partner_a']}")
    print(f"  Partner B: {names['partner_b']}")
    if not case["sessions"]:
        print("  No sessions yet.")
    for n, session in enumerate(case["sessions"], start=1):
        when = datetime.fromtimestamp(session["created_at"], UTC)
        print(f"  {n}. {when:%Y-%m-%d %H:%M} UTC  {session['title']} ({session['status']})")
        for phase in session["phases"]:
            print(f"       - {phase['title']}: {phase['outcome'].replace('_', ' ')}")
    return 0


# --- protocols check -----------------------------------------------------------


def _protocols_check(args: argparse.Namespace) -> int:
    from accord.core.check import check_files

    paths = [str(path) for path in args.files]
    problems = check_files(paths, lambda name: Path(name).read_text(encoding="utf-8"))
    for problem in problems:
        print(f"{problem.file}:{problem.line}: {problem.rule}: {problem.message}")
    failed = {str(problem.file) for problem in problems}
    for path in paths:
        if path not in failed:
            print(f"{path}: OK")
    return 1 if problems else 0


# --- shared by the shell commands ------------------------------------------------


@contextlib.asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[SqliteStore | RedisStore]:
    """The store the servers use (Redis if redis_url is set, else SQLite), open for one command."""
    from accord.app import open_store  # here: accord.app loads the web stack too

    where = (
        redacted(settings.redis_url) if settings.redis_url is not None else settings.database_path
    )
    try:
        store = await open_store(settings)
    except (StoreError, OSError) as exc:
        raise Failure(f"cannot open the database {where}: {exc}") from None
    try:
        yield store
    finally:
        await store.close()


async def _refusals(work: Awaitable[T]) -> T:
    """Await `work`, turning refusals and store failures into a Failure for the operator."""
    try:
        return await work
    except ServiceError as exc:
        raise Failure(exc.message) from None
    except StoreError as exc:
        raise Failure(f"the database refused the change: {exc}") from None


# --- serve ---------------------------------------------------------------------
# Parsing for `accord serve` lives here; running the server is accord.app's.


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8700)")
    serve.add_argument("--data-dir", type=Path, metavar="DIR", help="where the data lives")
    serve.add_argument("--config", type=Path, metavar="FILE", help="a TOML config file")
    serve.add_argument(
        "--redis", metavar="URL", help="run distributed over Redis (redis://host:port/0)"
    )
    serve.add_argument("--public-url", metavar="URL", help="the address people reach the server at")
    serve.add_argument("--log-level", choices=("debug", "info", "warning", "error", "critical"))
    serve.set_defaults(run=_serve)


def serve_settings(args: argparse.Namespace) -> Settings:
    """The Settings for `accord serve` with these parsed arguments and the environment."""
    overrides = {
        "host": args.host,
        "port": args.port,
        "data_dir": args.data_dir,
        "redis_url": args.redis,
        "public_url": args.public_url,
        "log_level": args.log_level,
    }
    return Settings.load(overrides, env=os.environ, config_path=args.config)


def _serve(args: argparse.Namespace) -> int:
    settings = serve_settings(args)
    from accord.app import run

    run(settings)
    return 0


# --- bench ---------------------------------------------------------------------
# The benchmark lives in bench/ at the top of a source checkout, beside server/.


def _add_bench(commands: Any) -> None:
    bench = commands.add_parser(
        "bench",
        add_help=False,  # `accord bench --help` is the harness's
        help="benchmark this server against a bare Socket.IO relay (accord bench --help)",
    )
    bench.set_defaults(run=_bench, passthrough=True)


def _bench(args: argparse.Namespace) -> int:
    root = Path(accord.__file__).resolve().parents[2]
    if not (root / "bench" / "harness.py").is_file():
        raise Failure(f"accord bench runs from a source checkout: {root / 'bench'} is missing")
    sys.path.insert(0, str(root))
    from bench.harness import main as bench_main

    code: int = bench_main(args.rest)
    return code


if __name__ == "__main__":
    sys.exit(main())
