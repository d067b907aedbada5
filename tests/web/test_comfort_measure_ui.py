"""The follow-up playbook through the pages (issue 11): each partner rates the
comfort scale on a phone with five labelled choices per scenario, changes a
rating, reloads and finds its ratings again, and says done only when the page
offers it; the mediator sees both partners' ratings side by side. Then the
questionnaire: answered privately, refused while incomplete, scored for the
mediator (each score, its band, the gap), never shown to the partners."""

from __future__ import annotations

from typing import Any

import msgpack
from hubtest import Server
from playwright.sync_api import Browser, Page, expect
from webtest import DESKTOP, PHONE, Watched, open_page, run

from accord.core.measures import HOW_ARE_WE_DOING
from accord.core.phases.comfort_scale import SCALE, SCENARIOS

#: The follow-up playbook's scenarios (protocols/follow-up.toml), with their texts.
SCENARIO_IDS = (
    "hold-hands-in-public",
    "cuddle-no-expectation",
    "say-what-i-enjoy",
    "say-not-tonight",
    "hear-not-tonight",
    "talk-about-frequency",
)
TEXTS = {s.id: s.text for s in SCENARIOS}


def choose(page: Page, key: str, label: str) -> None:
    """Click one labelled choice of the question `key` (a scenario or an item)."""
    page.locator(f'section:visible fieldset[data-key="{key}"] label.choice', has_text=label).click()


def checked(page: Page, key: str) -> str:
    """The label of the chosen choice of `key` ("" when none)."""
    value: str = page.evaluate(
        """(key) => {
          const input = document.querySelector(`fieldset[data-key="${key}"] input:checked`);
          return input ? input.closest("label").querySelector(".choice-label").textContent : "";
        }""",
        key,
    )
    return value


#: The events about a partner's ratings and answers (PROTOCOL.md, "Event reference").
PRIVATE_TYPES = {"comfort.rated", "comfort.finished", "measure.submitted", "measure.scored"}


def record(page: Page) -> list[Any]:
    """Every msgpack frame the page's websocket receives, decoded."""
    frames: list[Any] = []

    def on_frame(payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            frames.append(msgpack.unpackb(payload, raw=False, strict_map_key=False))

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return frames


def maps(value: Any) -> list[dict[str, Any]]:
    """Every map inside a decoded frame."""
    if isinstance(value, dict):
        return [value, *(m for v in value.values() for m in maps(v))]
    if isinstance(value, list):
        return [m for v in value for m in maps(v)]
    return []


def assert_private(frames: list[Any], me: str) -> None:
    """Invariant 9 on the wire: no event about the other partner's ratings or
    answers, no score at all, and no trace of the other's progress in a state."""
    other = "partner_b" if me == "partner_a" else "partner_a"
    seen = [m for frame in frames for m in maps(frame)]
    assert seen, "the page received nothing"
    for m in seen:
        if m.get("type") in PRIVATE_TYPES:
            assert m.get("seat") == me and m["type"] != "measure.scored", m
        if m.get("kind") == "comfort_scale":
            assert set(m["rated"]) <= {me} and other not in m["done"], m
        if m.get("kind") == "measure":
            assert other not in m["submitted"], m
    assert any(m.get("type") == "comfort.rated" for m in seen)


def test_comfort_scale_then_questionnaire(browser: Browser, web_server: Server) -> None:
    keys = run(web_server.create_session("follow-up"))
    join = f"{web_server.url}/join#"
    med = open_page(browser, "follow-up-mediator", DESKTOP)
    a = open_page(browser, "follow-up-a", PHONE)
    b = open_page(browser, "follow-up-b", PHONE)
    pages: list[Watched] = [med, a, b]
    try:
        m, pa, pb = med.page, a.page, b.page
        wire = {"partner_a": record(pa), "partner_b": record(pb)}
        m.goto(join + keys.tokens["mediator"])
        pa.goto(join + keys.tokens["partner_a"])
        pb.goto(join + keys.tokens["partner_b"])
        m.get_by_role("button", name="Admit Partner A").click()
        m.get_by_role("button", name="Admit Partner B").click()
        m.get_by_role("button", name="Start: Comfort scale").click()

        # -- the comfort scale: five labelled choices per scenario, as a radio group
        for page in (pa, pb):
            expect(page.get_by_test_id("comfort-panel")).to_be_visible()
            expect(page.get_by_test_id("comfort-progress")).to_have_text("0 of 6 rated")
            expect(page.get_by_test_id("comfort-privacy")).to_contain_text(
                "Only the mediator sees your ratings."
            )
            expect(page.get_by_test_id("comfort-done")).to_be_hidden()
        group = pa.locator('fieldset[data-key="say-not-tonight"]')
        expect(group.locator("legend")).to_have_text(TEXTS["say-not-tonight"])
        expect(group.get_by_role("radio")).to_have_count(5)
        for label in SCALE:
            expect(group.locator("label.choice", has_text=label)).to_have_count(1)
        a.assert_fits()
        a.assert_accessible()

        # A rates some, changes one, reloads: the page rebuilds A's own ratings.
        choose(pa, "hold-hands-in-public", "Fully comfortable")
        choose(pa, "say-not-tonight", "Hesitant")
        expect(pa.get_by_test_id("comfort-progress")).to_have_text("2 of 6 rated")
        choose(pa, "say-not-tonight", "Partly comfortable")
        expect(m.get_by_test_id("comfort-table")).to_contain_text("3 · Partly comfortable")
        expect(pa.get_by_test_id("comfort-progress")).to_have_text("2 of 6 rated")
        pa.reload()
        expect(pa.get_by_test_id("comfort-progress")).to_have_text("2 of 6 rated")
        assert checked(pa, "hold-hands-in-public") == "Fully comfortable"
        assert checked(pa, "say-not-tonight") == "Partly comfortable"
        a.screenshot("comfort-rating")

        # B sees nothing of A's progress; the mediator sees A's, live.
        expect(pb.get_by_test_id("comfort-progress")).to_have_text("0 of 6 rated")
        assert checked(pb, "say-not-tonight") == ""
        table = m.get_by_test_id("comfort-table")
        expect(table.locator("tr", has_text=TEXTS["hold-hands-in-public"])).to_contain_text(
            "1 · Fully comfortable"
        )
        expect(table.locator("tr", has_text="Status")).to_contain_text("2 of 6 rated")

        # Done only once every scenario is rated; then the ratings are final.
        for i, scenario in enumerate(SCENARIO_IDS):
            if scenario not in ("hold-hands-in-public", "say-not-tonight"):
                choose(pa, scenario, SCALE[i % 5])
            choose(pb, scenario, SCALE[(i + 2) % 5])
        done_a = pa.get_by_test_id("comfort-done")
        expect(done_a).to_be_visible()
        done_a.click()
        expect(pa.get_by_test_id("headline")).to_have_text("Thank you: your ratings are in.")
        expect(pa.locator('fieldset[data-key="say-not-tonight"] input').first).to_be_disabled()
        expect(done_a).to_be_hidden()
        # The advance before B is done is an override: it asks for a reason.
        advance = m.get_by_test_id("advance")
        expect(advance).to_contain_text("needs a reason")
        pb.get_by_test_id("comfort-done").click()
        expect(pb.get_by_test_id("headline")).to_have_text("Thank you: your ratings are in.")
        expect(table.locator("tr", has_text="Status")).to_contain_text("done")
        expect(table.locator("tr", has_text=TEXTS["say-not-tonight"])).to_contain_text(
            "3 · Partly comfortable"
        )
        expect(advance.locator(".reason-tag")).to_be_hidden()
        med.screenshot("comfort-side-by-side")
        # Nothing of A's ratings ever reached B's page (no event, no transcript line).
        assert b.text().count("finished the comfort scale") == 1  # "You finished …"
        assert "You finished the comfort scale" in b.text()
        assert med.text().count("finished the comfort scale") == 2

        # -- the questionnaire
        advance.click()
        for page in (pa, pb):
            expect(page.get_by_test_id("measure-panel")).to_be_visible()
            expect(page.get_by_test_id("measure-privacy")).to_contain_text(
                "Only the mediator sees them"
            )
        items = [item.id for item in HOW_ARE_WE_DOING.items]
        expect(pa.get_by_test_id("measure-panel").locator("fieldset")).to_have_count(len(items))
        # B submits too early: the page asks for every answer, nothing is sent.
        choose(pb, items[0], "Completely true")
        pb.get_by_test_id("measure-submit").click()
        expect(pb.get_by_test_id("measure-missing")).to_have_text(
            "Please answer every question before you submit."
        )
        expect(m.get_by_test_id("measure-table")).to_contain_text("not yet")
        for item in items:
            choose(pa, item, "Mostly true")
            choose(pb, item, "Completely true")
        expect(pa.get_by_test_id("measure-progress")).to_have_text(
            f"{len(items)} of {len(items)} answered"
        )
        b.assert_accessible()
        b.screenshot("measure-answering")
        pa.get_by_test_id("measure-submit").click()
        expect(pa.get_by_test_id("headline")).to_have_text("Thank you: your answers are in.")
        expect(pa.get_by_test_id("measure-submit")).to_be_hidden()
        scores = m.get_by_test_id("measure-table")
        # 5 items × 3, and the two reverse-scored items 4 − 3 = 1 each.
        expect(scores.locator("tr", has_text="Partner A")).to_contain_text("17 (of 0–28)")
        expect(scores.locator("tr", has_text="Partner A")).to_contain_text("Mixed")
        expect(m.get_by_test_id("measure-gap")).to_have_text(
            "The gap shows when both have submitted."
        )
        pb.get_by_test_id("measure-submit").click()
        expect(scores.locator("tr", has_text="Partner B")).to_contain_text("20 (of 0–28)")
        expect(scores.locator("tr", has_text="Partner B")).to_contain_text("Doing well")
        expect(m.get_by_test_id("measure-gap")).to_have_text("Gap between the partners: 3 points.")
        m.get_by_text("Answers, item by item").click()
        expect(m.get_by_test_id("measure-answers")).to_contain_text("4 · Completely true")
        med.screenshot("measure-scores")
        # The partners see no score: neither their own nor the other's.
        for partner in (a, b):
            text = partner.text()
            assert "17" not in text and "20 (of" not in text and "Doing well" not in text
            assert "questionnaire score" not in text

        # -- the closing debrief ends the session
        advance.click()
        for page, rating in ((pa, 2), (pb, 3)):
            page.locator(f'label[for="rating-{rating}"]').click()
            page.get_by_role("button", name="Send my answers").click()
        for page in (pa, pb):
            expect(page.get_by_test_id("ended")).to_contain_text("The session has ended")
        for partner, frames in wire.items():
            assert_private(frames, partner)
        for watched in pages:
            watched.check()
    finally:
        for watched in pages:
            watched.close()
