"""Problem solving through the pages (issue 12): two phone pages and the console
run `problem-solving.toml`: an anonymous brainstorm (each partner and the
mediator add an option), then the evaluation (each partner answers every
option through the fairness lens and a verdict), then the debrief.

Privacy (DESIGN.md, invariant 9) is read off partner B's own websocket: before
the brainstorm ends no message B received says who wrote A's option, and
before an option's reveal no message carries A's lens texts for it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgpack
from hubtest import Server
from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from webtest import DESKTOP, PHONE, Watched, open_page, run

OPTIONS = {
    "o1": "A walk every Sunday morning",
    "o2": "A weekly check-in after dinner",
    "o3": "A safe signal for a time-out",
}
#: Per option: each partner's verdict (and condition); A's "acceptable if" on
#: o1, A's "not acceptable" on o2.
VERDICTS = {
    "o1": {"a": ("acceptable_if", "If we skip it when it rains."), "b": ("acceptable", "")},
    "o2": {"a": ("not_acceptable", ""), "b": ("acceptable", "")},
    "o3": {"a": ("acceptable", ""), "b": ("acceptable", "")},
}
OUTCOMES = {
    "o1": "Proposed, with a condition to discuss",
    "o2": "Not proposed",
    "o3": "Proposed as a clause",
}


def lens(who: str, option: str) -> tuple[str, str, str]:
    """Three lens texts, unique to the partner and the option."""
    return (
        f"Benefits-{who}-{option}: both of us",
        f"Risk-{who}-{option}: tiredness",
        f"Consent-{who}-{option}: we ask first",
    )


class Received:
    """Every message the server sends one page, decoded from msgpack, as JSON text."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        page.route_web_socket(re.compile(r"/socket\.io/"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def down(message: str | bytes) -> None:
            if isinstance(message, bytes):
                data: Any = msgpack.unpackb(message, raw=False)
                self.messages.append(json.dumps(data, sort_keys=True, default=str))
            else:
                self.messages.append(message)
            ws.send(message)

        server.on_message(down)
        ws.on_message(server.send)

    def text(self) -> str:
        return "\n".join(self.messages)


def add_option(page: Page, text: str) -> None:
    page.get_by_test_id("brainstorm-text").fill(text)
    page.get_by_test_id("brainstorm-add").click()
    expect(page.get_by_test_id("brainstorm-text")).to_have_value("")


def answer(page: Page, who: str, option: str) -> None:
    """Fill the three lens fields of `option` and press the verdict."""
    verdict, condition = VERDICTS[option][who]
    row = page.locator(f'li.evaluate-option[data-option="{option}"]')
    benefits, risks, consent = lens(who, option)
    row.get_by_test_id("evaluate-benefits").fill(benefits)
    row.get_by_test_id("evaluate-risks").fill(risks)
    row.get_by_test_id("evaluate-consent").fill(consent)
    if condition:
        row.get_by_test_id("evaluate-condition").fill(condition)
    row.locator(f'button[data-verdict="{verdict}"]').click()


def test_problem_solving_brainstorm_then_evaluate_side_by_side(
    browser: Browser, web_server: Server
) -> None:
    keys = run(web_server.create_session("problem-solving"))
    join = f"{web_server.url}/join#"
    med = open_page(browser, "problem-mediator", DESKTOP)
    a = open_page(browser, "problem-a", PHONE)
    b = open_page(browser, "problem-b", PHONE)
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
        m.get_by_role("button", name="Start: Brainstorm: options, no judging").click()

        # -- the brainstorm: anonymous, no judging -------------------------------------------
        for page in (pa, pb):
            expect(page.get_by_test_id("headline")).to_contain_text(
                "Add any option that comes to mind, without judging it"
            )
            expect(page.get_by_test_id("brainstorm-left")).to_have_text("Room for 30 more.")
        add_option(pa, OPTIONS["o1"])
        add_option(pb, OPTIONS["o2"])
        add_option(m, OPTIONS["o3"])
        for page in (m, pa, pb):
            board = page.get_by_test_id("brainstorm-board").locator("li.brainstorm-option")
            expect(board).to_have_count(3)
            expect(board).to_have_text([re.compile(re.escape(t)) for t in OPTIONS.values()])
        # Each partner sees its own option as its own, nobody else's author.
        expect(pa.locator('li[data-option="o1"] .detail')).to_have_text("by you")
        expect(pa.locator('li[data-option="o2"] .detail')).to_have_text("")
        expect(pb.locator('li[data-option="o1"] .detail')).to_have_text("")
        expect(pb.locator('li[data-option="o2"] .detail')).to_have_text("by you")
        expect(pb.locator('li[data-option="o3"] .detail')).to_have_text("")
        # The mediator sees who wrote what.
        expect(m.locator('li[data-option="o1"] .detail')).to_contain_text("Partner A")
        expect(m.locator('li[data-option="o2"] .detail')).to_contain_text("Partner B")
        expect(m.get_by_test_id("brainstorm-now")).to_have_text(
            "3 options (anonymous to the partners)"
        )
        a.screenshot("brainstorm")
        b.screenshot("brainstorm")
        med.screenshot("brainstorm")
        a.assert_fits()
        b.assert_accessible()
        med.assert_accessible()

        # Nothing on B's page or wire says A wrote o1 while the brainstorm runs.
        wire = b_wire.text()
        assert OPTIONS["o1"] in wire
        assert '"author": "partner_a"' not in wire
        assert '{"option": "o1", "seat": "partner_a"}' not in wire
        assert "brainstorm.authors" not in wire
        assert wire.count("brainstorm.authored") == 1  # B's own, for o2
        expect(pb.get_by_test_id("brainstorm-board")).not_to_contain_text("partner")
        seen_before_end = len(b_wire.messages)

        # -- the evaluation ----------------------------------------------------------------
        advance = m.get_by_test_id("advance")
        expect(advance).to_have_attribute("data-needs-reason", "false")
        advance.click()
        for page in (pa, pb):
            expect(page.get_by_test_id("evaluate-panel")).to_be_visible()
            expect(page.get_by_test_id("headline")).to_contain_text("(3 to answer)")
            expect(page.locator("li.evaluate-option")).to_have_count(3)
        # The brainstorm's end told everyone who wrote what.
        after_end = "\n".join(b_wire.messages[seen_before_end:])
        assert "brainstorm.authors" in after_end
        a.screenshot("evaluate-empty")
        a.assert_accessible()
        a.assert_fits()

        for option in OPTIONS:
            a_texts = lens("a", option)
            answer(pa, "a", option)
            row_a = pa.locator(f'li.evaluate-option[data-option="{option}"]')
            expect(row_a.get_by_test_id("evaluate-saved")).to_contain_text("Saved:")
            # The mediator sees A's answer live; B sees nothing of it.
            expect(m.get_by_test_id("evaluate-board")).to_contain_text(a_texts[0])
            expect(pb.locator(f'li.evaluate-option[data-option="{option}"]')).not_to_have_class(
                re.compile("evaluate-revealed")
            )
            wire = b_wire.text()
            page_text = b.text()
            for secret in (*a_texts, VERDICTS[option]["a"][1] or a_texts[0]):
                assert secret not in wire, (option, secret)
                assert secret not in page_text, (option, secret)
            if option == "o1":
                a.screenshot("evaluate-answered")
                med.screenshot("evaluate-live")
            answer(pb, "b", option)
            # Both answered: side by side on both pages, with the outcome.
            for page, mine, theirs in ((pa, "a", "b"), (pb, "b", "a")):
                shown = page.locator(f'li.evaluate-revealed[data-option="{option}"]')
                expect(shown).to_be_visible()
                expect(shown.locator(".evaluate-outcome")).to_have_text(OUTCOMES[option])
                lines = shown.locator(".evaluate-side .detail")
                expect(lines.nth(0 if mine == "a" else 1)).to_contain_text("You: ")
                expect(lines.nth(1 if mine == "a" else 0)).to_contain_text("Your partner: ")
                for who in (mine, theirs):
                    for text in lens(who, option):
                        expect(shown).to_contain_text(text)
            if option == "o1":
                expect(pb.locator('li.evaluate-revealed[data-option="o1"]')).to_contain_text(
                    "Acceptable if we skip it when it rains."
                )
                a.screenshot("evaluate-revealed")
                b.screenshot("evaluate-revealed")
        expect(pb.locator('li.evaluate-revealed[data-option="o2"]')).to_contain_text(
            "Not acceptable"
        )
        for page in (pa, pb):
            expect(page.get_by_test_id("headline")).to_have_text(
                "Every option is shown side by side."
            )
        expect(m.get_by_test_id("evaluate-now")).to_have_text("3 of 3 options shown")
        a.screenshot("evaluated")
        b.screenshot("evaluated")
        med.screenshot("evaluated")
        b.assert_fits()
        b.assert_accessible()
        med.assert_accessible()

        # -- the debrief ---------------------------------------------------------------------
        expect(advance).to_have_attribute("data-needs-reason", "false")
        advance.click()
        for page in (pa, pb):
            expect(page.get_by_test_id("evaluate-panel")).to_be_hidden()
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()
