"""Values cards through the pages (issue 11): two phone pages and the console
run `values-assessment.toml`'s values sort. Each partner sorts all forty cards
with the three large buttons, partner A adds a card of their own, moves one,
and notes for the mediator what shaped a value; the mediator watches both
sorts live and reveals them once both are done; both partners then see the
three groups side by side.

Privacy (DESIGN.md, invariant 9) is read off partner B's own websocket: no
frame B received before the reveal carries anything of A's sort (A's own
card, its id, A's note, A's "done"), and A's note never reaches B at all.
"""

from __future__ import annotations

from hubtest import Server
from playwright.sync_api import Browser, Page, WebSocket, expect
from webtest import DESKTOP, PHONE, Watched, open_page, run

CARDS = 40
OWN_TITLE = "Lighthouse mornings"
NOTE = "Grandmother's letters, read aloud at the kitchen table."


class Frames:
    """Every websocket frame a page received, as bytes."""

    def __init__(self, page: Page) -> None:
        self.frames: list[bytes] = []
        page.on("websocket", self._socket)

    def _socket(self, ws: WebSocket) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload: str | bytes) -> None:
        self.frames.append(payload if isinstance(payload, bytes) else payload.encode())

    def contains(self, text: str) -> bool:
        needle = text.encode()
        return any(needle in frame for frame in self.frames)


def sort_every_card(page: Page, place_of: dict[str, str], total: int) -> None:
    """Sort the card on show until none is left: its place by title, else negotiable."""
    for done in range(total):
        expect(page.get_by_test_id("values-progress")).to_have_text(f"{done} of {total} sorted")
        title = page.get_by_test_id("values-card-title").inner_text()
        place = place_of.get(title, "Negotiable")
        page.get_by_test_id("values-current").get_by_role("button", name=place, exact=True).click()
    expect(page.get_by_test_id("values-progress")).to_have_text(f"{total} of {total} sorted")
    expect(page.get_by_test_id("values-current")).to_be_hidden()


def test_values_cards_sorted_privately_then_revealed_side_by_side(
    browser: Browser, web_server: Server
) -> None:
    keys = run(web_server.create_session("values-assessment"))
    join = f"{web_server.url}/join#"
    med = open_page(browser, "values-mediator", DESKTOP)
    a = open_page(browser, "values-a", PHONE)
    b = open_page(browser, "values-b", PHONE)
    pages: list[Watched] = [med, a, b]
    b_frames = Frames(b.page)
    try:
        m, pa, pb = med.page, a.page, b.page
        m.goto(join + keys.tokens["mediator"])
        pa.goto(join + keys.tokens["partner_a"])
        pb.goto(join + keys.tokens["partner_b"])
        expect(m.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")
        m.get_by_role("button", name="Admit Partner A").click()
        m.get_by_role("button", name="Admit Partner B").click()
        m.get_by_role("button", name="Start: Values cards").click()

        # Each partner: one card at a time, three large buttons, the promise.
        for page in (pa, pb):
            expect(page.get_by_test_id("values-progress")).to_have_text(f"0 of {CARDS} sorted")
            expect(page.get_by_test_id("values-wait")).to_have_text(
                "The mediator will reveal this when you are both done."
            )
            expect(page.get_by_test_id("values-card-title")).to_have_text("Connection")
            expect(page.get_by_test_id("values-done")).to_be_hidden()
        buttons = pa.get_by_test_id("values-current").get_by_role("button")
        expect(buttons).to_have_text(["Core — non-negotiable", "Negotiable", "Not important"])
        for i in range(3):  # large targets on a phone
            box = buttons.nth(i).bounding_box()
            assert box is not None and box["height"] >= 44 and box["width"] >= 280, box
        a.assert_fits()
        expect(m.get_by_test_id("advance")).to_have_attribute("data-needs-reason", "true")

        # A adds a card of their own, and notes what shaped a value.
        pa.get_by_test_id("own-title").fill(OWN_TITLE)
        pa.get_by_test_id("own-text").fill("Quiet time together before the day starts.")
        pa.get_by_test_id("own-add").click()
        expect(pa.get_by_test_id("values-progress")).to_have_text(f"0 of {CARDS + 1} sorted")
        pa.get_by_test_id("note-card").select_option(label="Connection")
        pa.get_by_test_id("note-text").fill(NOTE)
        pa.get_by_test_id("note-send").click()
        expect(pa.get_by_test_id("my-notes")).to_contain_text(NOTE)
        a.screenshot("sorting")
        a.assert_accessible()

        # A sorts everything: Connection and Reassurance core, the rest negotiable.
        sort_every_card(
            pa,
            {
                "Connection": "Core — non-negotiable",
                "Reassurance": "Core — non-negotiable",
                OWN_TITLE: "Core — non-negotiable",
            },
            CARDS + 1,
        )
        # A changes their mind about one card: an explicit move.
        expect(pa.locator("details.values-mine-box")).to_have_attribute("open", "")
        pa.get_by_role("button", name="Move Play to Core — non-negotiable").click()
        expect(pa.get_by_test_id("my-sort")).to_contain_text("Core — non-negotiable (4)")

        # The mediator sees A's sort live, A's own card and A's note.
        live_a = m.get_by_test_id("values-partner_a")
        expect(live_a).to_contain_text(f"{CARDS + 1} of {CARDS + 1} sorted")
        expect(live_a).to_contain_text(f"{OWN_TITLE} (own card)")
        expect(live_a).to_contain_text(NOTE)
        expect(m.get_by_test_id("values-partner_b")).to_contain_text(f"0 of {CARDS} sorted")
        expect(m.get_by_test_id("values-reveal-btn")).to_be_disabled()

        expect(pa.get_by_test_id("values-done")).to_be_visible()
        pa.get_by_test_id("values-done").click()
        expect(pa.get_by_test_id("headline")).to_have_text(
            "Thank you. The mediator will reveal this when you are both done."
        )
        expect(pa.get_by_test_id("values-current")).to_be_hidden()
        expect(pa.get_by_test_id("values-done")).to_be_hidden()
        expect(live_a).to_contain_text("Done: all 41 sorted")
        a.screenshot("done")

        # B has been told nothing of it: not on the page, not on the wire.
        expect(pb.get_by_test_id("values-progress")).to_have_text(f"0 of {CARDS} sorted")
        expect(pb.get_by_test_id("headline")).to_have_text("Values cards: sort each card.")
        for secret in (OWN_TITLE, "partner_a.1", NOTE, "Done: all"):
            assert secret not in b.text(), secret
            assert not b_frames.contains(secret), secret
        assert not b_frames.contains("values.sorted")  # B has sorted nothing yet
        assert not b_frames.contains("values.done")

        sort_every_card(
            pb, {"Connection": "Core — non-negotiable", "Reassurance": "Not important"}, CARDS
        )
        for secret in (OWN_TITLE, "partner_a.1", NOTE):
            assert not b_frames.contains(secret), secret
        pb.get_by_test_id("values-done").click()
        expect(pb.get_by_test_id("headline")).to_have_text(
            "Thank you. The mediator will reveal this when you are both done."
        )
        assert not b_frames.contains(OWN_TITLE)
        med.screenshot("live")

        # The reveal: the mediator only, once both are done.
        expect(m.get_by_test_id("values-reveal-btn")).to_be_enabled()
        m.get_by_test_id("values-reveal-btn").click()
        for page, whose in ((pa, "you"), (pb, "your partner")):
            expect(page.get_by_test_id("headline")).to_have_text(
                "The cards are revealed: here they are, side by side."
            )
            reveal = page.get_by_test_id("values-reveal")
            expect(reveal.get_by_test_id("shared-core")).to_have_text("Connection")
            expect(reveal.get_by_test_id("core-vs-not-important")).to_have_text(
                f"Reassurance — core for {whose}"
            )
            # Negotiable for both: all but Connection, Reassurance and Play.
            expect(reveal.get_by_test_id("negotiable-both").locator("li")).to_have_count(CARDS - 3)
            owner = "you" if page is pa else "your partner"
            expect(reveal.get_by_test_id("own-revealed")).to_have_text(
                f"{OWN_TITLE} ({owner}): core — non-negotiable"
            )
            expect(page.get_by_test_id("values-wait")).to_be_hidden()
        expect(
            m.get_by_test_id("console-values-reveal").get_by_test_id("shared-core")
        ).to_have_text("Connection")
        expect(m.get_by_test_id("advance")).to_have_attribute("data-needs-reason", "false")
        a.screenshot("revealed")
        b.screenshot("revealed")
        b.assert_fits()
        b.assert_accessible()
        med.assert_accessible()

        # A's note is the mediator's alone, after the reveal too.
        assert NOTE not in b.text()
        assert not b_frames.contains(NOTE)
        # B sees the comparison, never A's whole sort (Play: core for A only).
        expect(pb.get_by_test_id("values-reveal")).not_to_contain_text("Play")
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()
