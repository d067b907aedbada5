"""The partner page through a server crash (issue 4): SIGKILL mid-session, then
`accord serve` again on the same port and data. The page shows a reconnecting
banner, keeps what was typed during the outage, comes back to the same state
(resuming from its last seq and epoch), and a command sent while the server was
down is delivered once it is back (retried with the same cid)."""

from __future__ import annotations

import re

from hubtest import Server
from playwright.sync_api import Browser, expect
from webtest import DESKTOP, PHONE, open_page, run

STATEMENT = "I need us to plan the weekend together."
DRAFT = "You want us to decide the weekend plans as a team."

#: What Chromium itself logs while the server is down (the page logs nothing).
OUTAGE = [
    re.compile(r"^WebSocket connection to 'ws://127\.0\.0\.1:\d+/socket\.io/\?.*' failed"),
]


def test_partner_page_survives_a_server_restart(browser: Browser, web_server: Server) -> None:
    keys = run(web_server.create_session("web-dialogue"))
    join = f"{web_server.url}/join#"
    med = open_page(browser, "mediator-link", DESKTOP, tolerated=OUTAGE)
    a = open_page(browser, "restart-a", DESKTOP, tolerated=OUTAGE)
    b = open_page(browser, "restart-b", PHONE, tolerated=OUTAGE)
    pages = [med, a, b]
    try:
        m, pa, pb = med.page, a.page, b.page
        # The mediator's own join link opens the live view, without the console's login.
        m.goto(join + keys.tokens["mediator"])
        pa.goto(join + keys.tokens["partner_a"])
        pb.goto(join + keys.tokens["partner_b"])
        expect(m.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")
        expect(pa.get_by_test_id("headline")).to_be_visible()
        m.get_by_role("button", name="Admit Partner A").click()
        m.get_by_role("button", name="Admit Partner B").click()
        m.get_by_role("button", name="Start: Speaker-listener").click()
        pa.get_by_label("What you want to say").fill(STATEMENT)
        pa.get_by_role("button", name="Say it").click()
        expect(pb.get_by_test_id("mirror-statement")).to_have_text(STATEMENT)
        headline = pb.get_by_test_id("headline").inner_text()

        # -- the server dies; B keeps typing ------------------------------------------------
        web_server.kill()
        expect(pb.get_by_test_id("reconnect-banner")).to_be_visible()
        expect(pb.get_by_test_id("reconnect-banner")).to_contain_text("reconnecting")
        expect(pb.locator('.presence[data-seat="partner_b"] .status')).to_have_text("reconnecting…")
        paraphrase = pb.get_by_label("In your own words, what did your partner say?")
        paraphrase.fill(DRAFT)
        b.screenshot("outage")

        # -- it comes back on the same port and data -----------------------------------------
        run(web_server.start())
        expect(pb.get_by_test_id("reconnect-banner")).to_be_hidden(timeout=15_000)
        expect(pb.get_by_test_id("headline")).to_have_text(headline)
        expect(pb.get_by_test_id("mirror-statement")).to_have_text(STATEMENT)
        expect(paraphrase).to_have_value(DRAFT)
        expect(paraphrase).to_be_enabled()
        expect(pb.locator('.presence[data-seat="partner_b"] .status')).to_have_text("here")
        expect(pb.locator('.presence[data-seat="mediator"] .status')).to_have_text(
            "here", timeout=15_000
        )
        # Nothing doubled in the conversation after the resume.
        expect(pb.locator(".transcript li", has_text=STATEMENT)).to_have_count(1)
        b.screenshot("after-restart")
        pb.get_by_role("button", name="Send my paraphrase").click()
        expect(pa.get_by_test_id("paraphrase-to-confirm")).to_have_text(DRAFT, timeout=15_000)

        # -- a command sent while the server is down goes out when it is back ----------------
        web_server.kill()
        expect(pa.get_by_test_id("reconnect-banner")).to_be_visible()
        pa.get_by_role("button", name="That's it").click()
        run(web_server.start())
        expect(pa.get_by_test_id("reconnect-banner")).to_be_hidden(timeout=15_000)
        expect(pa.get_by_test_id("headline")).to_have_text(
            "Your partner got it. Is there more?", timeout=15_000
        )
        expect(pb.get_by_test_id("headline")).to_have_text(
            "Your partner may say more or yield the floor.", timeout=15_000
        )
        expect(m.locator(".transcript-card .transcript li", has_text="That's it")).to_have_count(1)
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()
