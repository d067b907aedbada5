"""The yes / maybe / no list in the browser (issue 11): two phone pages and the
console.

Each partner answers every item with the large Yes / Maybe / No buttons (a
maybe with an "if …"), says done; the console shows both partners' answers
live and reveals; both pages then show only what neither said no to, and
partner A shows one of its two nos to B with a confirm. Everything partner B's
page received over its websocket is scanned: A's undisclosed no never arrives
in any form (not its id, not A's answer, not a count), and A's disclosed no
arrives only after A consented.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hubtest import Server, write_protocols
from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from webtest import DESKTOP, PHONE, Watched, open_page, run

LIST_PLAYBOOK = """\
name = "web-list"
title = "Yes, maybe, no (browser tests)"

[[phases]]
type = "lobby"

[[phases]]
type = "mutual_reveal"
title = "What we are open to"
items = [
  { id = "check-in", text = "A weekly check-in about our intimacy" },
  { id = "plan-new", text = "Trying something new that we plan together" },
  { id = "weekend-away", text = "A weekend away, just the two of us" },
  { id = "signal", text = "A safe word or signal" },
  { id = "affection", text = "More physical affection outside sex" },
]

[[phases]]
type = "debrief"
"""

CONDITION = "If we plan it a week ahead."
#: partner_a's answers and partner_b's: A says no to two items, B to one.
A_ANSWERS = {
    "check-in": "yes",
    "plan-new": "maybe",
    "weekend-away": "no",
    "signal": "no",
    "affection": "yes",
}
B_ANSWERS = {
    "check-in": "yes",
    "plan-new": "yes",
    "weekend-away": "yes",
    "signal": "yes",
    "affection": "no",
}
TEXTS = {
    "weekend-away": "A weekend away, just the two of us",
    "signal": "A safe word or signal",
    "affection": "More physical affection outside sex",
}


@pytest.fixture
def list_server(tmp_path: Path, web_client: Path) -> Iterator[Server]:
    protocols = write_protocols(tmp_path / "protocols")
    (protocols / "web-list.toml").write_text(LIST_PLAYBOOK, encoding="utf-8")
    server = Server(tmp_path / "data", protocols, tmp_path / "server.log")
    run(server.start())
    try:
        yield server
    finally:
        server.stop()
    log = server.log()
    assert "Traceback" not in log and " ERROR " not in log, log


class Received:
    """Every `snapshot` and `events` message the server sends one page."""

    def __init__(self, page: Page) -> None:
        self.messages: list[tuple[str, Any]] = []
        page.route_web_socket(re.compile(r"/socket\.io/"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def down(message: str | bytes) -> None:
            if isinstance(message, bytes):
                data = msgpack.unpackb(message, raw=False).get("data")
                if isinstance(data, list) and data and isinstance(data[0], str):
                    self.messages.append((data[0], data[1:]))
            ws.send(message)

        server.on_message(down)
        ws.on_message(server.send)

    def others(self, me: str) -> str:
        """What the page received, as text, but for its own answers (its own
        `mutual.answered` events and its own entries in the state's answers) and
        the playbook (which lists every item for everyone)."""
        parts: list[str] = []
        for _, args in self.messages:
            parts += [
                json.dumps(_without_own(arg, me), sort_keys=True, default=str) for arg in args
            ]
        return "\n".join(parts)

    def states(self, kind: str) -> list[dict[str, Any]]:
        """The states received (snapshots' and batches') while a phase of `kind` stood."""
        found = []
        for name, args in self.messages:
            for arg in args:
                state = (
                    arg.get("state")
                    if isinstance(arg, dict) and name in ("snapshot", "events")
                    else None
                )
                if isinstance(state, dict) and state["phase"].get("kind") == kind:
                    found.append(state)
        return found

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [
            e
            for name, args in self.messages
            if name == "events"
            for arg in args
            if isinstance(arg, dict)
            for e in arg.get("events", [])
            if e.get("type") == kind
        ]


def _without_own(value: Any, me: str) -> Any:
    if isinstance(value, dict):
        if value.get("type") == "mutual.answered" and value.get("seat") == me:
            return {"type": "mutual.answered", "seat": me}
        out = {}
        for k, v in value.items():
            if k == "playbook":
                continue
            if (
                k == "answers"
                and isinstance(v, list)
                and all(isinstance(a, dict) and "seat" in a for a in v)
            ):
                assert all(a["seat"] == me for a in v), f"another seat's answers reached {me}: {v}"
                continue
            out[k] = _without_own(v, me)
        return out
    if isinstance(value, list):
        return [_without_own(v, me) for v in value]
    return value


def answer_all(page: Page, answers: dict[str, str], condition: str = "") -> None:
    for item, choice in answers.items():
        row = page.locator(f'li.mutual-item[data-item="{item}"]')
        row.get_by_role("button", name=choice.capitalize(), exact=True).click()
        expect(row).to_have_attribute("data-answer", choice)
        if choice == "maybe" and condition:
            row.get_by_test_id("mutual-condition").fill(condition)
            row.get_by_role("button", name="Save the condition").click()
            expect(row.get_by_text(f"Saved: “{condition}”")).to_be_visible()


def test_answer_done_reveal_and_a_no_kept_private_then_disclosed(
    browser: Browser, list_server: Server
) -> None:
    keys = run(list_server.create_session("web-list"))
    join = f"{list_server.url}/join#"
    med = open_page(browser, "list-console", DESKTOP)
    a = open_page(browser, "list-partner-a", PHONE)
    b = open_page(browser, "list-partner-b", PHONE)
    pages: list[Watched] = [med, a, b]
    try:
        m, pa, pb = med.page, a.page, b.page
        b_wire = Received(pb)
        m.goto(join + keys.tokens["mediator"])
        pa.goto(join + keys.tokens["partner_a"])
        pb.goto(join + keys.tokens["partner_b"])
        expect(m.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")
        m.get_by_role("button", name="Admit Partner A").click()
        m.get_by_role("button", name="Admit Partner B").click()
        m.get_by_role("button", name="Start: What we are open to").click()

        # -- answering, privately ------------------------------------------------------------
        expect(pa.get_by_test_id("headline")).to_have_text("Your private list: yes, maybe or no.")
        expect(
            pa.get_by_text(
                "The mediator will reveal this when you are both done. "
                "Only what neither of you said no to is shown."
            ).first
        ).to_be_visible()
        expect(pa.get_by_test_id("mutual-progress")).to_have_text("0 of 5 answered")
        expect(pa.get_by_test_id("mutual-done")).to_be_disabled()
        a.screenshot("answering-empty")
        answer_all(pa, dict(list(A_ANSWERS.items())[:3]), CONDITION)
        expect(pa.get_by_test_id("mutual-progress")).to_have_text("3 of 5 answered")
        expect(pa.get_by_test_id("mutual-done")).to_be_disabled()
        # An answer may change before the reveal.
        answer_all(pa, {"signal": "yes"})
        answer_all(pa, {"signal": "no", "affection": "yes"})
        expect(pa.get_by_test_id("mutual-progress")).to_have_text("5 of 5 answered")
        a.screenshot("answering")
        a.assert_accessible()
        a.assert_fits()

        # The console sees A's answers live, B's page nothing of them.
        table = m.get_by_test_id("mutual-answers")
        expect(table.locator('tr[data-item="plan-new"] td').first).to_have_text(
            f"Maybe — {CONDITION}"
        )
        expect(table.locator('tr[data-item="signal"] td').first).to_have_text("No")
        expect(pb.get_by_test_id("mutual-progress")).to_have_text("0 of 5 answered")
        pa.get_by_test_id("mutual-done").click()
        expect(pa.get_by_test_id("headline")).to_have_text("You are done. Waiting for the reveal.")
        # Done is private (the playbook does not show it): B's page is unchanged.
        expect(pb.get_by_test_id("headline")).to_have_text("Your private list: yes, maybe or no.")
        expect(pb.get_by_text("Your partner is done")).to_have_count(0)
        expect(m.get_by_test_id("mutual-reveal")).to_be_disabled()

        answer_all(pb, B_ANSWERS)
        # A reload (a new connection, the whole history again) keeps B's answers.
        pb.reload()
        expect(pb.get_by_test_id("mutual-progress")).to_have_text("5 of 5 answered")
        expect(pb.locator('li.mutual-item[data-item="affection"]')).to_have_attribute(
            "data-answer", "no"
        )
        pb.get_by_test_id("mutual-done").click()
        expect(pb.get_by_test_id("headline")).to_have_text("You are done. Waiting for the reveal.")
        before_reveal = b_wire.others("partner_b")
        # Nothing of A's answers, nor that A is done, reached B's page.
        assert {e["seat"] for e in b_wire.events("mutual.answered")} == {"partner_b"}
        assert {e["seat"] for e in b_wire.events("mutual.finished")} == {"partner_b"}
        for state in b_wire.states("mutual_reveal"):
            assert state["phase"]["done"] in ([], ["partner_b"]), state["phase"]
        for secret in ("weekend-away", "signal", CONDITION):
            assert secret not in before_reveal, secret
        expect(m.get_by_test_id("mutual-now")).to_have_text("Partner A: done · Partner B: done")
        med.screenshot("answers")

        # -- the reveal ----------------------------------------------------------------------
        m.get_by_test_id("mutual-reveal").click()
        for page in (pa, pb):
            expect(page.get_by_test_id("headline")).to_have_text(
                "Revealed: what you are both open to."
            )
            shared = page.get_by_test_id("mutual-shared").locator("li")
            expect(shared).to_have_count(2)
            expect(shared.nth(0)).to_have_attribute("data-item", "check-in")
            expect(shared.nth(1)).to_have_attribute("data-item", "plan-new")
        expect(pb.get_by_text(f"You: Yes · Your partner: Maybe — {CONDITION}")).to_be_visible()
        expect(pa.get_by_text(f"You: Maybe — {CONDITION} · Your partner: Yes")).to_be_visible()
        # Answers are locked: the buttons are gone with the answering part.
        expect(pa.get_by_test_id("mutual-items")).to_be_hidden()
        expect(pa.get_by_test_id("mutual-done")).to_be_hidden()
        # A sees its own two nos, privately, each with the offer to show it; B its one.
        a_private = pa.get_by_test_id("mutual-private").locator("li")
        expect(a_private).to_have_count(2)
        expect(pb.get_by_test_id("mutual-private").locator("li")).to_have_count(1)
        expect(pb.get_by_test_id("mutual-disclosed")).to_be_hidden()
        after_reveal = b_wire.others("partner_b")
        for secret in ("weekend-away", "signal", TEXTS["weekend-away"], TEXTS["signal"]):
            assert secret not in after_reveal, secret
        (revealed,) = b_wire.events("mutual.revealed")
        assert [s["item"] for s in revealed["shared"]] == ["check-in", "plan-new"]
        assert set(revealed) >= {"shared"} and "hidden" not in json.dumps(revealed)
        assert b_wire.events("mutual.locked") == []
        a.screenshot("revealed")
        b.screenshot("revealed")
        a.assert_accessible()
        b.assert_fits()

        # -- A shows its no to `signal`, with a confirm; `weekend-away` stays private ----------
        row = pa.get_by_test_id("mutual-private").locator('li[data-item="signal"]')
        row.get_by_role("button", name="Show this one to my partner").click()
        expect(row.get_by_text("Your partner will see that you said no to this.")).to_be_visible()
        a.screenshot("confirm-show")
        row.get_by_role("button", name="Keep it private").click()
        expect(row.get_by_role("button", name="Show this one to my partner")).to_be_visible()
        assert "signal" not in b_wire.others("partner_b")
        row.get_by_role("button", name="Show this one to my partner").click()
        row.get_by_test_id("mutual-show-confirm").click()
        shown = pb.get_by_test_id("mutual-disclosed").locator("li")
        expect(shown).to_have_count(1)
        expect(shown).to_have_attribute("data-item", "signal")
        expect(shown).to_contain_text("Your partner chose to show you: their answer was no.")
        expect(pa.get_by_test_id("mutual-private").locator("li")).to_have_count(1)
        expect(pa.get_by_text("You showed your partner your no to this.")).to_be_visible()
        b.screenshot("disclosed")
        (disclosed,) = b_wire.events("mutual.disclosed")
        assert (disclosed["seat"], disclosed["item"]) == ("partner_a", "signal")
        final = b_wire.others("partner_b")
        assert "weekend-away" not in final and TEXTS["weekend-away"] not in final
        expect(
            m.get_by_test_id("mutual-answers").locator('tr[data-item="signal"] td').last
        ).to_have_text("no shown by Partner A")
        expect(
            m.get_by_test_id("mutual-answers").locator('tr[data-item="weekend-away"] td').last
        ).to_have_text("held back")
        med.screenshot("revealed")
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()
