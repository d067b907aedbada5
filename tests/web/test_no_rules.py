"""The web client holds no rule (issue 10; DESIGN.md, "Permissions come from
the server"; STYLE.md, habit 7).

Two halves:

- the sources: client_web/src/**/*.ts contain none of the rule copy that was
  removed (`evolve`, `mayFor`, the command tables…), no table of command types
  (a list of two or more, a switch over them, an object of flags or lists by
  them) and read none of the playbook's rule parameters; the checker is tried
  on samples of what it must and must not flag;
- the pages: what a partner may do, and whether a mediator's act needs a
  reason, follow exactly what the server sent (`may`, `overrides`), read off
  the page's own websocket, step by step; and when the permissions on the wire
  are rewritten, the pages follow the rewrite, not a rule of their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hubtest import Server
from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from webtest import DESKTOP, PHONE, Watched, open_page, run

from accord.core.parts import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "client_web" / "src"

#: Every command type of the protocol (the core's catalogue).
COMMAND_TYPES = frozenset(COMMANDS)

#: The rule copy that was removed from the client (model.ts and live.ts).
REMOVED = (
    "evolve",
    "freshPhase",
    "withDialogue",
    "roleOf",
    "mayFor",
    "listenerOf",
    "dialogueSpec",
    "MEDIATOR_COMMANDS",
    "PARTNER_COMMANDS",
    "TIME_OUT_BUSINESS",
    "PHASE_COMMANDS",
    "STAGE_ACTS",
    "GATED",
)

#: Playbook keys the server turns into `may` and `hints`; a page that read them
#: would be deciding (the limit of a statement, whether questions are allowed…).
RULE_PARAMETERS = (
    "clarifying_questions",
    "statement_max_chars",
    "paraphrase_required",
    "auto_round_robin",
    "first_speaker",
    "ends",
    "rounds",
)

#: Lists of command types that are protocol plumbing, not permission:
#: (file, constant) → why.
ALLOWED_LISTS = {
    ("connection.ts", "URGENT"): "the safe signal's own send lane (never behind another command)",
}


# -- the source checker --------------------------------------------------------------


@dataclass
class Masked:
    """A TypeScript source without comments, each string literal replaced by
    its index in `strings` between two NUL characters, each regex literal by `/R/`."""

    code: str
    strings: list[str] = field(default_factory=list)

    def value(self, token: str) -> str | None:
        m = re.fullmatch(r"\x00(\d+)\x00", token.strip())
        return self.strings[int(m.group(1))] if m else None


_REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^")


def mask(source: str) -> Masked:
    out = Masked("")
    parts: list[str] = []

    def skip_string(i: int, quote: str) -> tuple[int, str]:
        j, value = i + 1, []
        while j < len(source) and source[j] != quote:
            if source[j] == "\\":
                value.append(source[j : j + 2])
                j += 2
                continue
            value.append(source[j])
            j += 1
        return j + 1, "".join(value)

    def skip_template(i: int) -> tuple[int, str, bool]:
        """Past a template literal; its text, and whether it has substitutions."""
        j, value, subst = i + 1, [], False
        while j < len(source) and source[j] != "`":
            if source[j] == "\\":
                j += 2
                continue
            if source.startswith("${", j):
                subst = True
                j = skip_code(j + 2, "}")
                continue
            value.append(source[j])
            j += 1
        return j + 1, "".join(value), subst

    def skip_code(i: int, close: str) -> int:
        """Past code up to its matching `close` (inside a template's ${…})."""
        depth = 0
        while i < len(source):
            c = source[i]
            if c in "\"'":
                i, _ = skip_string(i, c)
            elif c == "`":
                i, _, _ = skip_template(i)
            elif c == "{":
                depth += 1
                i += 1
            elif c == close and depth == 0:
                return i + 1
            elif c == "}":
                depth -= 1
                i += 1
            else:
                i += 1
        return i

    i, last = 0, ""
    while i < len(source):
        c = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = len(source) if i < 0 else i
        elif source.startswith("/*", i):
            i = source.index("*/", i) + 2
        elif c in "\"'":
            i, value = skip_string(i, c)
            out.strings.append(value)
            parts.append(f"\x00{len(out.strings) - 1}\x00")
            last = '"'
        elif c == "`":
            i, value, subst = skip_template(i)
            if subst:
                parts.append("`T`")
            else:
                out.strings.append(value)
                parts.append(f"\x00{len(out.strings) - 1}\x00")
            last = '"'
        elif c == "/" and (last in _REGEX_BEFORE or last == ""):
            j, in_class = i + 1, False
            while j < len(source) and (in_class or source[j] != "/"):
                if source[j] == "\\":
                    j += 1
                elif source[j] == "[":
                    in_class = True
                elif source[j] == "]":
                    in_class = False
                j += 1
            i = j + 1
            while i < len(source) and source[i].isalpha():
                i += 1
            parts.append("/R/")
            last = "/"
        else:
            parts.append(c)
            if not c.isspace():
                last = c
            i += 1
    out.code = "".join(parts)
    return out


def _pairs(code: str, open_: str, close: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every bracketed span, nested ones too."""
    stack: list[int] = []
    for i, c in enumerate(code):
        if c == open_:
            stack.append(i)
        elif c == close and stack:
            yield stack.pop(), i


def _elements(inner: str) -> list[str]:
    """The top-level elements of a list or object body (split at , and ;)."""
    items, depth, current = [], 0, []
    for c in inner:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c in ",;" and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(c)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def _line(code: str, at: int) -> int:
    return code.count("\n", 0, at) + 1


def rule_copies(source: str, filename: str) -> list[str]:
    """What in one TypeScript file looks like a copy of the server's rules."""
    m = mask(source)
    code = m.code
    found: list[str] = []
    for name in REMOVED:
        for hit in re.finditer(rf"\b{name}\b", code):
            found.append(f"{filename}:{_line(code, hit.start())}: {name} (removed rule copy)")
    reads = [(hit.start(), hit.group(1)) for hit in re.finditer(r"\.(\w+)", code)]
    reads += [
        (hit.start(), m.strings[int(hit.group(1))])
        for hit in re.finditer(r"\[\s*\x00(\d+)\x00\s*\]", code)
    ]
    for at, key in reads:
        if key in RULE_PARAMETERS:
            found.append(
                f"{filename}:{_line(code, at)}: reads the playbook's {key} "
                "(the server sends what follows from it in may and hints)"
            )

    # Lists of two or more command types.
    for start, end in _pairs(code, "[", "]"):
        kinds = [v for v in map(m.value, _elements(code[start + 1 : end])) if v in COMMAND_TYPES]
        if len(kinds) < 2:
            continue
        named = re.search(
            r"(?:const|let|var)\s+(\w+)\s*(?::[^=]*)?=\s*(?:new\s+Set\s*\(\s*)?$", code[:start]
        )
        if named and (filename, named.group(1)) in ALLOWED_LISTS:
            continue
        found.append(f"{filename}:{_line(code, start)}: a list of command types {kinds}")

    # A switch over two or more command types.
    for hit in re.finditer(r"\bswitch\s*\(", code):
        body = code.find("{", hit.end())
        close = next((e for s, e in _pairs(code, "{", "}") if s == body), len(code))
        cases = re.findall(r"\bcase\s+(\x00\d+\x00)\s*:", code[body:close])
        kinds = sorted({v for v in map(m.value, cases) if v in COMMAND_TYPES})
        if len(kinds) >= 2:
            found.append(f"{filename}:{_line(code, hit.start())}: a switch over {kinds}")

    # An object of flags, lists or functions by command type (words by type are fine).
    for start, end in _pairs(code, "{", "}"):
        keyed = []
        for item in _elements(code[start + 1 : end]):
            km = re.match(r"(\x00\d+\x00|[A-Za-z_]\w*)\s*:(?!:)\s*(.*)$", item, re.S)
            if not km:
                continue
            key = m.value(km.group(1)) or km.group(1)
            if key in COMMAND_TYPES and m.value(km.group(2)) is None:
                keyed.append(key)
        if len(keyed) >= 2:
            found.append(f"{filename}:{_line(code, start)}: a table by command type {keyed}")
    return found


# -- the checker on samples ----------------------------------------------------------

FLAGGED = {
    "set": 'const MEDIATOR = new Set(["admit", "phase.advance", "note"]);',
    "array": 'export const acts: string[] = ["statement", "yield"];',
    "stages": 'const T = { speaking: { speaker: ["statement", "yield"], listener: [] } };',
    "switch": 'switch (type) {\n  case "paraphrase":\n  case "question":\n    return true;\n}',
    "flags": "const OK = { statement: true, yield: false };",
    "functions": 'const OK = { "floor.grant": (s) => s.free, "floor.revoke": (s) => !s.free };',
    "name": "export function mayFor(state, seat) { return new Set(); }",
    "parameter": "const q = spec.clarifying_questions;",
    "parameter by key": 'const q = spec["statement_max_chars"];',
    "elsewhere": 'const URGENT = new Set(["timeout.call", "timeout.start"]);',
}
CLEAN = {
    "may": 'enable(box, may.has("paraphrase")); show(q, may.has("question") && may.has("answer"));',
    "words": 'const WHAT = { statement: "Your statement", "paraphrase.confirm": "“That\'s it”" };',
    "comments": '// not mayFor, nor ["statement", "yield"]\n/* evolve, STAGE_ACTS */ const x = 1;',
    "strings": 'const s = "evolve"; const t = `["statement", "yield"] ${x}`;',
    "regex": 'const r = /["statement", "yield"]/g; const n = a / b;',
    "events": 'switch (e.type) { case "statement.made": case "floor.yielded": break; }',
    "hints": "const max = hints.statement?.max_chars; const step = hints.reflect?.step;",
    "one": 'void act(button, "timeout.call", { reason });',
}


@pytest.mark.parametrize("name", FLAGGED)
def test_the_checker_flags_rule_copies(name: str) -> None:
    assert rule_copies(FLAGGED[name], "sample.ts"), name


def test_the_checker_allows_the_time_out_lane_only_where_it_is() -> None:
    assert rule_copies(FLAGGED["elsewhere"], "connection.ts") == []


@pytest.mark.parametrize("name", CLEAN)
def test_the_checker_leaves_rendering_alone(name: str) -> None:
    assert rule_copies(CLEAN[name], "sample.ts") == [], name


def test_the_web_client_holds_no_rule() -> None:
    files = sorted(SRC.rglob("*.ts"))
    assert len(files) > 10 and (SRC / "phases" / "index.ts") in files
    found = [
        finding
        for path in files
        for finding in rule_copies(path.read_text(encoding="utf-8"), path.name)
    ]
    assert found == [], "\n".join(found)
    assert not (SRC / "model.ts").exists()
    assert not (ROOT / "client_web" / "tools" / "parity.mjs").exists()


# -- the pages follow the server's permission --------------------------------------------

Rewrite = Callable[[str, dict[str, Any]], None]


class Wire:
    """One page's websocket, through the test: every `snapshot` and `events`
    the server sends it (after `rewrite`, which may change a state's
    permissions in place before the page gets it), and every command it sends."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.states: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.rewrite: Rewrite | None = None
        page.route_web_socket(re.compile(r"/socket\.io/"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def down(message: str | bytes) -> None:
            if isinstance(message, bytes):
                packet = msgpack.unpackb(message, raw=False)
                data = packet.get("data")
                if isinstance(data, list) and len(data) == 2 and data[0] in ("snapshot", "events"):
                    state = data[1].get("state")
                    if isinstance(state, dict):
                        if self.rewrite is not None:
                            self.rewrite(data[0], state)
                            message = msgpack.packb(packet)
                        self.states.append(state)
            ws.send(message)

        def up(message: str | bytes) -> None:
            if isinstance(message, bytes):
                data = msgpack.unpackb(message, raw=False).get("data")
                if isinstance(data, list) and len(data) == 2 and data[0] == "command":
                    self.commands.append(data[1])
            server.send(message)

        server.on_message(down)
        ws.on_message(up)

    @property
    def state(self) -> dict[str, Any]:
        assert self.states, "nothing received yet"
        return self.states[-1]

    def settle(self, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """The last state received, once `check` holds for it."""
        for _ in range(320):
            if self.states and check(self.states[-1]):
                return self.states[-1]
            self.page.wait_for_timeout(25)
        raise AssertionError(f"no state with {what}; last: {self.states[-1:]}")

    def sent(self, kind: str) -> list[dict[str, Any]]:
        return [c for c in self.commands if c.get("type") == kind]


def stage(state: dict[str, Any]) -> str:
    phase = state["phase"]
    return f"{phase['kind']}:{phase.get('stage', '')}"


def assert_follows(b: Page, b_wire: Wire, m: Page, m_wire: Wire) -> None:
    """B's paraphrase box is enabled exactly when B's last `may` has
    "paraphrase"; the mediator's advance asks for a reason exactly when the
    mediator's last `overrides` has "phase.advance"."""
    box = '[data-testid="paraphrase-box"]'
    send = b.locator("button", has_text="Send my paraphrase")
    if "paraphrase" in b_wire.state["may"]:
        expect(b.locator(box)).to_be_enabled()
        expect(send).to_be_enabled()
    else:  # disabled, or not on the page at all (before the dialogue)
        expect(b.locator(f"{box}:enabled")).to_have_count(0)
        expect(b.locator("button:enabled", has_text="Send my paraphrase")).to_have_count(0)
    advance = m.get_by_test_id("advance")
    needed = "phase.advance" in m_wire.state["overrides"]
    expect(advance).to_have_attribute("data-needs-reason", "true" if needed else "false")
    tag = advance.locator(".reason-tag")
    if needed:
        expect(tag).to_be_visible()
        expect(tag).to_have_text("needs a reason")
    else:
        expect(tag).to_be_hidden()


@pytest.fixture
def three(browser: Browser, web_server: Server) -> Iterator[tuple[Watched, Watched, Watched]]:
    med = open_page(browser, "rules-mediator", DESKTOP)
    a = open_page(browser, "rules-a", PHONE)
    b = open_page(browser, "rules-b", PHONE)
    try:
        yield med, a, b
        for page in (med, a, b):
            page.check()
    finally:
        for page in (med, a, b):
            page.close()


def test_the_pages_render_the_servers_permission(
    web_server: Server, three: tuple[Watched, Watched, Watched]
) -> None:
    med, a, b = three
    m, pa, pb = med.page, a.page, b.page
    m_wire, b_wire = Wire(m), Wire(pb)
    keys = run(web_server.create_session("web-dialogue"))
    link = f"{web_server.url}/join#"
    m.goto(link + keys.tokens["mediator"])
    pa.goto(link + keys.tokens["partner_a"])
    pb.goto(link + keys.tokens["partner_b"])
    expect(m.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")
    expect(pb.get_by_test_id("headline")).to_have_text(
        "Waiting room: the mediator will let you in."
    )
    assert_follows(pb, b_wire, m, m_wire)

    m.get_by_role("button", name="Admit Partner A").click()
    m.get_by_role("button", name="Admit Partner B").click()
    m_wire.settle(lambda s: len(s["admitted"]) == 2, "both admitted")
    assert_follows(pb, b_wire, m, m_wire)
    m.get_by_test_id("advance").click()

    def step(m_stage: str, b_stage: str | None = None) -> None:
        m_wire.settle(lambda s: stage(s) == m_stage, m_stage)
        b_wire.settle(lambda s: stage(s) == (b_stage or m_stage), b_stage or m_stage)
        assert_follows(pb, b_wire, m, m_wire)

    # A speaks: the limit is the server's hint; B may not paraphrase yet.
    step("dialogue:speaking")
    expect(pa.get_by_text("0 / 280 characters")).to_be_visible()
    pa.get_by_label("What you want to say").fill("I felt alone last week.")
    pa.get_by_role("button", name="Say it").click()

    # B may paraphrase now; ending the phase now would be early: a reason is asked for.
    step("dialogue:awaiting_paraphrase")
    assert "paraphrase" in b_wire.state["may"]
    assert "question" not in b_wire.state["may"]
    expect(pb.get_by_label("Or ask a clarifying question first")).to_be_hidden()
    assert "phase.advance" in m_wire.state["overrides"]
    advanced = len(m_wire.sent("phase.advance"))  # the lobby's "Start"
    m.get_by_test_id("advance").click()
    expect(m.get_by_test_id("refusal")).to_contain_text("without a reason")
    expect(m.get_by_test_id("override-reason")).to_be_focused()
    assert len(m_wire.sent("phase.advance")) == advanced, "an override without a reason waits"
    med.screenshot("reason-asked")
    pb.get_by_label("In your own words, what did your partner say?").fill("You felt alone.")
    pb.get_by_role("button", name="Send my paraphrase").click()

    step("dialogue:awaiting_confirmation")
    pa.get_by_role("button", name="That's it").click()
    step("dialogue:confirmed")
    pa.get_by_role("button", name="That's all — yield the floor").click()

    # The floor passes to B (round robin): B speaks, A paraphrases.
    b_wire.settle(lambda s: s["phase"].get("speaker") == "partner_b", "B holds the floor")
    step("dialogue:speaking")
    pb.get_by_label("What you want to say").fill("I was worried about work.")
    pb.get_by_role("button", name="Say it").click()
    step("dialogue:awaiting_paraphrase")
    assert "paraphrase" not in b_wire.state["may"]  # B is the speaker now
    pa.get_by_label("In your own words, what did your partner say?").fill("You were worried.")
    pa.get_by_role("button", name="Send my paraphrase").click()
    step("dialogue:awaiting_confirmation")
    pb.get_by_role("button", name="That's it").click()
    step("dialogue:confirmed")

    # At rest, ending the dialogue needs no reason; skipping the closing debrief does.
    m.get_by_test_id("advance").click()
    step("debrief:")
    assert "phase.advance" in m_wire.state["overrides"]
    assert m_wire.sent("phase.advance")[-1]["reason"] == ""


def test_the_pages_follow_rewritten_permissions(
    web_server: Server, three: tuple[Watched, Watched, Watched]
) -> None:
    """The permissions on the wire rewritten: the mediator is told that leaving
    the lobby needs a reason, B that it may make a statement while A holds the
    floor and may not paraphrase. The pages do as told, and the server stays
    the judge of what it takes."""
    med, a, b = three
    m, pa, pb = med.page, a.page, b.page
    m_wire, b_wire = Wire(m), Wire(pb)
    rewriting = {"on": True}

    def mediator(kind: str, state: dict[str, Any]) -> None:
        if rewriting["on"] and "phase.advance" in state["may"]:
            state["overrides"] = sorted({*state["overrides"], "phase.advance"})

    def partner_b(kind: str, state: dict[str, Any]) -> None:
        if rewriting["on"] and state["phase"]["kind"] == "dialogue":
            state["may"] = sorted({*state["may"], "statement"} - {"paraphrase"})

    m_wire.rewrite, b_wire.rewrite = mediator, partner_b
    keys = run(web_server.create_session("web-dialogue"))
    link = f"{web_server.url}/join#"
    m.goto(link + keys.tokens["mediator"])
    pa.goto(link + keys.tokens["partner_a"])
    pb.goto(link + keys.tokens["partner_b"])
    m.get_by_role("button", name="Admit Partner A").click()
    m.get_by_role("button", name="Admit Partner B").click()

    # The lobby's "Start" asks for a reason, because the wire says so.
    start = m.get_by_test_id("advance")
    expect(start).to_have_attribute("data-needs-reason", "true")
    expect(start).to_contain_text("needs a reason")
    start.click()
    expect(m.get_by_test_id("refusal")).to_contain_text("without a reason")
    assert m_wire.sent("phase.advance") == []
    m.get_by_label("Reason", exact=True).fill("Starting on time.")
    start.click()
    expect(pa.get_by_test_id("headline")).to_have_text("Your turn to speak.")
    assert m_wire.sent("phase.advance")[-1]["reason"] == "Starting on time."

    # B, the listener, is offered a statement: the page offers it; the server refuses it.
    expect(pb.get_by_test_id("headline")).to_have_text("Your partner has the floor. Listen.")
    statement_b = pb.get_by_label("What you want to say")
    expect(statement_b).to_be_enabled()
    statement_b.fill("Out of turn.")
    pb.get_by_role("button", name="Say it").click()
    expect(pb.get_by_test_id("refusal")).to_contain_text(
        "partner_b may not make a statement while partner_a holds the floor"
    )
    expect(m.locator(".transcript-card .transcript")).not_to_contain_text("Out of turn.")

    # A's statement awaits B's paraphrase, but the wire says B may not: the box stays shut.
    pa.get_by_label("What you want to say").fill("I need more sleep.")
    pa.get_by_role("button", name="Say it").click()
    expect(pb.get_by_test_id("mirror-statement")).to_have_text("I need more sleep.")
    b_wire.settle(lambda s: stage(s) == "dialogue:awaiting_paraphrase", "awaiting_paraphrase")
    expect(pb.get_by_test_id("paraphrase-box")).to_be_disabled()
    expect(pb.get_by_role("button", name="Send my paraphrase")).to_be_disabled()
    b.screenshot("paraphrase-not-offered")

    # The true permissions again, with the next batch (the mediator schedules a break).
    rewriting["on"] = False
    m.get_by_role("button", name="Schedule", exact=True).click()
    b_wire.settle(lambda s: s["schedule"] is not None, "the break scheduled")
    expect(pb.get_by_test_id("paraphrase-box")).to_be_enabled()
    expect(statement_b).to_be_disabled()
    expect(start).to_have_attribute("data-needs-reason", "true")  # awaiting a paraphrase: early
    assert "phase.advance" in m_wire.state["overrides"]
