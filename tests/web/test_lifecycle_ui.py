"""The end of a connection, as a person sees it (issue 9): a page whose seat was
opened on another device or tab, or whose invite was revoked, says so plainly
and leaves no control enabled that would do nothing (but "Use this device",
which takes the seat back); the other device then shows the ended state and
does not take the seat back by itself. A time-out tapped while the server is
down is queued, says so, and is delivered exactly once when it is back.

Real `accord serve`, real Chromium; screenshots go to test-artifacts/screenshots.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import msgpack
from hubtest import Api, Seat, Server
from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from webtest import DESKTOP, EMAIL, PASSWORD, SCREENSHOTS, Watched, open_page, run

#: The phone of the screenshots in /work/shared/ux (a 390×844 iPhone-sized screen).
PHONE_390 = {"width": 390, "height": 844}

A_SAYS = "I miss our Sunday walks. I feel like we only talk about logistics now."
B_DRAFT = "You miss our walks and feel we only talk about"
B_PARAPHRASE = "You miss our Sunday walks; lately we only talk logistics."

SUPERSEDED = "This seat is now open on another device or tab. Nothing you do here is sent."

#: What Chromium itself logs while the server is down on purpose.
OUTAGE = [
    re.compile(r"^WebSocket connection to 'ws://127\.0\.0\.1:\d+/socket\.io/\?.*' failed"),
]

#: Everything a person could operate (but the skip link, which only moves the focus).
CONTROLS = "button, input, textarea, select, summary, a[href]:not(.skip-link)"


def enabled_controls(page: Page, within: str = "body") -> list[str]:
    """Every visible control on the page (or `within` a part of it) that is not
    disabled, named."""
    found = []
    controls = page.locator(within).locator(CONTROLS)
    for i in range(controls.count()):
        control = controls.nth(i)
        if not control.is_visible():
            continue
        tag = control.evaluate("e => e.tagName.toLowerCase()")
        if tag in ("summary", "a") or control.is_enabled():
            label = control.get_attribute("aria-label") or control.inner_text() or ""
            found.append(f"{tag}: {label.strip()[:80]}")
    return found


def phone_shot(page: Watched, label: str) -> None:
    """What a 390×844 phone shows first (no scrolling), and the whole page at
    phone and laptop widths (Watched.screenshot)."""
    size = page.page.viewport_size
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.page.set_viewport_size(PHONE_390)
    page.page.wait_for_timeout(150)
    page.page.screenshot(path=SCREENSHOTS / f"{page.name}-{label}-390x844.png")
    page.screenshot(label)
    if size:
        page.page.set_viewport_size(size)


def start_dialogue(m: Page, pa: Page, title: str = "Speaker-listener") -> None:
    expect(m.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")
    m.get_by_role("button", name="Admit Partner A").click()
    m.get_by_role("button", name="Admit Partner B").click()
    m.get_by_role("button", name=f"Start: {title}").click()
    expect(pa.get_by_test_id("headline")).to_have_text("Your turn to speak.")


def assert_ended(page: Watched, *, take_back: bool) -> None:
    """The ended state: the card on top (an alert), every other control disabled."""
    p = page.page
    card = p.get_by_test_id("stopped")
    expect(card).to_be_visible()
    expect(card).to_have_attribute("role", "alert")
    use = p.get_by_role("button", name="Use this device", exact=True)
    timeout = p.get_by_test_id("timeout-button")
    expect(timeout).to_be_disabled()
    expect(timeout).to_contain_text("Time-out unavailable on this device")
    expect(p.get_by_test_id("headline")).to_have_text("Not connected on this device.")
    if take_back:
        expect(card).to_contain_text(SUPERSEDED)
        expect(use).to_be_visible()
        expect(use).to_be_enabled()
        expect(timeout).to_contain_text("tap “Use this device”")
        assert enabled_controls(p) == ["button: Use this device"], enabled_controls(p)
    else:
        expect(use).to_have_count(0)
        assert enabled_controls(p) == [], enabled_controls(p)
    # The card is the first thing on the screen.
    box = card.bounding_box()
    assert box is not None and box["y"] < 200, box


def test_a_superseded_partner_page_ends_and_can_take_the_seat_back(
    browser: Browser, web_server: Server
) -> None:
    keys = run(web_server.create_session("web-dialogue"))
    link = f"{web_server.url}/join#"
    med = open_page(browser, "lifecycle-mediator", DESKTOP)
    a = open_page(browser, "lifecycle-a", PHONE_390)
    phone = open_page(browser, "superseded-b-phone", PHONE_390)
    tablet = open_page(browser, "superseded-b-tablet", PHONE_390)
    pages = [med, a, phone, tablet]
    try:
        m, pa, p1, p2 = med.page, a.page, phone.page, tablet.page
        m.goto(link + keys.tokens["mediator"])
        pa.goto(link + keys.tokens["partner_a"])
        p1.goto(link + keys.tokens["partner_b"])
        start_dialogue(m, pa)
        pa.get_by_label("What you want to say").fill(A_SAYS)
        pa.get_by_role("button", name="Say it").click()
        expect(p1.get_by_test_id("mirror-statement")).to_have_text(A_SAYS)
        paraphrase1 = p1.get_by_label("In your own words, what did your partner say?")
        paraphrase1.fill(B_DRAFT)  # a draft under way when the seat moves
        p1.locator(".presence-list").scroll_into_view_if_needed()  # scrolled down, as on screen 84

        # -- the same link opened on a second device takes the seat ------------------------------
        p2.goto(link + keys.tokens["partner_b"])
        expect(p2.get_by_test_id("mirror-statement")).to_have_text(A_SAYS)
        assert_ended(phone, take_back=True)
        expect(paraphrase1).to_have_value(B_DRAFT)  # what was typed is kept, not sent
        expect(p1.get_by_role("button", name="Send my paraphrase")).to_be_disabled()
        expect(p1.locator('.presence[data-seat="partner_b"] .status')).to_have_text(
            "open on another device or tab"
        )
        phone_shot(phone, "ended")
        phone.assert_accessible()
        # The second device works: its paraphrase reaches A.
        p2.get_by_label("In your own words, what did your partner say?").fill(B_PARAPHRASE)
        p2.get_by_role("button", name="Send my paraphrase").click()
        expect(pa.get_by_test_id("paraphrase-to-confirm")).to_have_text(B_PARAPHRASE)
        expect(p2.get_by_test_id("timeout-button")).to_be_enabled()
        # The first stays ended; nothing it shows takes the seat back by itself.
        p1.wait_for_timeout(1_500)
        assert_ended(phone, take_back=True)
        expect(p2.get_by_test_id("stopped")).to_be_hidden()

        # -- "Use this device" on the first: it takes the seat back --------------------------------
        p1.get_by_role("button", name="Use this device", exact=True).click()
        expect(p1.get_by_test_id("stopped")).to_be_hidden()
        expect(p1.get_by_test_id("headline")).to_have_text("Waiting: did you get it?")
        expect(p1.get_by_test_id("timeout-button")).to_be_enabled()
        expect(p1.get_by_test_id("timeout-button")).to_contain_text("Pause everything now")
        expect(p1.locator(".transcript li", has_text=B_PARAPHRASE)).to_have_count(1)
        assert_ended(tablet, take_back=True)
        # No ping-pong: ~2 s later each is still where it was.
        p1.wait_for_timeout(2_000)
        assert_ended(tablet, take_back=True)
        expect(p1.get_by_test_id("stopped")).to_be_hidden()
        expect(p1.get_by_test_id("timeout-button")).to_be_enabled()
        expect(m.locator('.now .presence-list [data-seat="partner_b"] .status')).to_have_text(
            "here"
        )
        phone_shot(tablet, "ended")
        tablet.assert_accessible()
        phone_shot(phone, "taken-back")
        phone.assert_accessible()

        # The page that took the seat back is fully live: A confirms, B's page follows.
        pa.get_by_role("button", name="That's it").click()
        expect(p1.get_by_test_id("headline")).to_have_text(
            "Your partner may say more or yield the floor."
        )
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()


def test_a_superseded_console_live_view_ends_too(browser: Browser, web_server: Server) -> None:
    keys = run(web_server.create_session("web-dialogue"))
    link = f"{web_server.url}/join#" + keys.tokens["mediator"]
    first = open_page(browser, "superseded-mediator-1", DESKTOP)
    second = open_page(browser, "superseded-mediator-2", DESKTOP)
    pages = [first, second]
    try:
        m1, m2 = first.page, second.page
        m1.goto(link)
        expect(m1.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")
        m1.get_by_label("Note (only you see it)").fill("half a note")
        m2.goto(link)
        expect(m2.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")
        card = m1.get_by_test_id("stopped")
        expect(card).to_be_visible()
        expect(card).to_have_attribute("role", "alert")
        expect(card).to_contain_text(
            "This session is now open in another tab or on another device."
        )
        expect(card).to_contain_text("Nothing you do here is sent.")
        assert enabled_controls(m1) == ["button: Use this device"], enabled_controls(m1)
        expect(m1.get_by_test_id("start-timeout")).to_be_disabled()
        first.screenshot("ended")
        first.assert_accessible()
        # Taking it back: the other tab ends, and stays ended.
        m1.get_by_role("button", name="Use this device", exact=True).click()
        expect(card).to_be_hidden()
        expect(m1.get_by_role("button", name="Add note")).to_be_enabled()
        expect(m1.get_by_label("Note (only you see it)")).to_have_value("half a note")
        expect(m2.get_by_test_id("stopped")).to_be_visible()
        m2.wait_for_timeout(2_000)
        expect(m2.get_by_test_id("stopped")).to_be_visible()
        expect(card).to_be_hidden()
        assert enabled_controls(m2) == ["button: Use this device"], enabled_controls(m2)
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()


async def _revoke(server: Server, session_id: str, invite_id: str) -> None:
    await server.cli("mediator", "add", EMAIL, "--password-stdin", stdin=PASSWORD + "\n")
    api = Api(server.url)
    try:
        await api.login(EMAIL, PASSWORD)
        await api.revoke(session_id, invite_id)
    finally:
        await api.close()


def test_a_revoked_invite_ends_the_partner_page(browser: Browser, web_server: Server) -> None:
    keys = run(web_server.create_session("web-dialogue"))
    link = f"{web_server.url}/join#"
    med = open_page(browser, "revoke-mediator", DESKTOP)
    a = open_page(browser, "revoked-a", PHONE_390)
    b = open_page(browser, "revoke-b", PHONE_390)
    pages = [med, a, b]
    try:
        m, pa, pb = med.page, a.page, b.page
        m.goto(link + keys.tokens["mediator"])
        pa.goto(link + keys.tokens["partner_a"])
        pb.goto(link + keys.tokens["partner_b"])
        start_dialogue(m, pa)
        pa.get_by_label("What you want to say").fill("Something I was about to say")
        expect(pa.get_by_role("button", name="Say it")).to_be_enabled()

        run(_revoke(web_server, keys.id, keys.invites["partner_a"]))
        card = pa.get_by_test_id("stopped")
        expect(card).to_be_visible()
        expect(card).to_contain_text("This link no longer works")
        expect(card).to_contain_text("The mediator revoked it.")
        expect(card).to_contain_text("Ask your mediator for a new link.")
        assert_ended(a, take_back=False)
        expect(pa.get_by_test_id("timeout-button")).to_contain_text(
            "This link no longer works — ask your mediator for a new link"
        )
        phone_shot(a, "ended")
        a.assert_accessible()
        # It does not come back by itself; the others carry on.
        pa.wait_for_timeout(2_000)
        assert_ended(a, take_back=False)
        expect(pb.get_by_test_id("timeout-button")).to_be_enabled()
        expect(m.locator('.now .presence-list [data-seat="partner_a"] .status')).not_to_have_text(
            "here"
        )
        # Opened again, the revoked link says the same before anything else.
        pa.reload()
        expect(pa.get_by_role("heading", name="Cannot join")).to_be_visible()
        expect(pa.get_by_role("alert")).to_contain_text("revoked")
        assert enabled_controls(pa) == [], enabled_controls(pa)
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()


def test_a_time_out_tapped_offline_is_delivered_once_on_reconnect(
    browser: Browser, web_server: Server
) -> None:
    # Time-outs of 20 minutes: the time-out view stays up while every page reconnects.
    keys = run(web_server.create_session("speaker-listener"))
    link = f"{web_server.url}/join#"
    med = open_page(browser, "offline-mediator", DESKTOP, tolerated=OUTAGE)
    a = open_page(browser, "offline-a", PHONE_390, tolerated=OUTAGE)
    b = open_page(browser, "offline-b", PHONE_390, tolerated=OUTAGE)
    pages = [med, a, b]
    try:
        m, pa, pb = med.page, a.page, b.page
        m.goto(link + keys.tokens["mediator"])
        pa.goto(link + keys.tokens["partner_a"])
        pb.goto(link + keys.tokens["partner_b"])
        start_dialogue(m, pa)
        button = pb.get_by_test_id("timeout-button")
        expect(button).to_contain_text("Pause everything now")

        # -- the server dies; B taps the time-out --------------------------------------------------
        web_server.kill()
        expect(pb.get_by_test_id("reconnect-banner")).to_be_visible()
        expect(button).to_be_enabled()
        expect(button).to_contain_text(
            "Not connected — will be sent as soon as the connection is back"
        )
        button.click()
        note = pb.get_by_test_id("timeout-note")
        expect(note).to_have_text("Time-out queued — it will be sent when the connection is back.")
        expect(button).to_contain_text("Queued — it will be sent as soon as the connection is back")
        expect(button).to_be_enabled()
        # A second tap does not queue a second signal; it says it is already queued.
        button.click()
        expect(note).to_contain_text("already queued")
        phone_shot(b, "timeout-queued")
        b.assert_accessible()
        expect(pb.get_by_test_id("timeout-panel")).to_be_hidden()

        # -- it comes back: the time-out reaches everyone, once ------------------------------------
        run(web_server.start())
        for page in (pa, pb):
            expect(page.get_by_test_id("timeout-panel")).to_be_visible(timeout=15_000)
            expect(page.get_by_test_id("headline")).to_have_text("Time-out: everything is paused.")
        expect(pa.get_by_text("Your partner called a time-out.")).to_be_visible()
        expect(pb.get_by_text("You called a time-out.")).to_be_visible()
        expect(m.get_by_test_id("live-timeout")).to_be_visible(timeout=15_000)
        expect(m.get_by_text("Called by Partner B.")).to_be_visible()
        expect(note).to_be_hidden()
        expect(button).to_contain_text("Signal again")
        pb.wait_for_timeout(1_000)  # time for a duplicate to show, if one were sent
        for seen, transcript in (
            (m, ".transcript-card .transcript"),
            (pa, ".transcript"),
            (pb, ".transcript"),
        ):
            lines = seen.locator(transcript)
            expect(lines.locator('li[data-type="timeout.started"]')).to_have_count(1)
            expect(lines.locator('li[data-type="timeout.signalled"]')).to_have_count(0)
        phone_shot(b, "timeout-delivered")
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()


def test_revoking_from_the_console_ends_the_partner_and_console_pages(
    browser: Browser, web_server: Server
) -> None:
    """The mediator revokes through the console: the partner's page ends (ask for a
    new link); revoking the console's own link ends its live view, which offers to
    reconnect with a new link, and does."""
    run(web_server.cli("mediator", "add", EMAIL, "--password-stdin", stdin=PASSWORD + "\n"))
    med = open_page(browser, "revoke-console", DESKTOP)
    a = open_page(browser, "console-revoked-a", PHONE_390)
    pages = [med, a]
    try:
        m, pa = med.page, a.page
        m.goto(f"{web_server.url}/console")
        m.get_by_label("Email").fill(EMAIL)
        m.get_by_label("Password").fill(PASSWORD)
        m.get_by_role("button", name="Log in").click()
        m.get_by_label("Playbook").select_option("web-dialogue")
        m.get_by_label("Title (optional)").fill("Revoked links")
        m.get_by_role("button", name="Create session").click()
        expect(m.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")
        pa.goto(m.get_by_test_id("link-partner_a").input_value())
        expect(pa.get_by_test_id("headline")).to_have_text(
            "Waiting room: the mediator will let you in."
        )

        m.get_by_text("All invites").click()
        m.get_by_role("button", name=re.compile(r"^Revoke Partner A's invite")).click()
        card = pa.get_by_test_id("stopped")
        expect(card).to_contain_text("This link no longer works")
        expect(card).to_contain_text("Ask your mediator for a new link.")
        assert_ended(a, take_back=False)

        # The console's own link, revoked: its live view ends, and can start again.
        m.get_by_role("button", name=re.compile(r"^Revoke Mediator's invite")).click()
        live = m.get_by_test_id("stopped")
        expect(live).to_be_visible()
        expect(live).to_contain_text("This mediator link was revoked.")
        again = m.get_by_role("button", name="Reconnect with a new link")
        expect(again).to_be_enabled()
        expect(m.get_by_role("button", name="Admit Partner B")).to_be_disabled()
        expect(m.get_by_test_id("start-timeout")).to_be_disabled()
        # Nothing in the live view works but the way back; what works elsewhere on
        # the console does not need the live connection (the account and the
        # links, over HTTP).
        assert enabled_controls(m, ".live") == ["button: Reconnect with a new link"]
        elsewhere = re.compile(
            r"a: Sessions|a: Cases|button: Log out"
            r"|button: Copy Partner [AB]'s link|button: New link"
            r"|input: Invite link for Partner [AB]|summary: All invites.*|button: Revoke .*"
            r"|button: Reconnect with a new link"
        )
        for control in enabled_controls(m):
            assert elsewhere.fullmatch(control), control
        med.screenshot("live-revoked")
        med.assert_accessible()
        again.click()
        expect(m.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")
        expect(m.get_by_test_id("stopped")).to_be_hidden()
        expect(m.get_by_role("button", name="Admit Partner B")).to_be_enabled()
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()


#: Records whether the ended card was ever shown, however briefly.
WATCH_STOPPED = """
window.__stoppedSeen = 0;
window.__stoppedText = [];
new MutationObserver(() => {
  const card = document.querySelector('[data-testid="stopped"]');
  if (card && !card.hidden) {
    window.__stoppedSeen += 1;
    window.__stoppedText.push(card.textContent);
  }
}).observe(document, { subtree: true, childList: true, attributes: true });
"""


def test_slow_consumer_reconnects_and_resumes_without_alarm(
    browser: Browser, web_server: Server
) -> None:
    """`slow_consumer` is not final: the server sends the notice and closes the
    transport; the page reconnects by itself, resumes from its last seq, and
    never shows the ended state. (A browser reads too fast to be cut off for
    real, so the test plays the server's part on B's websocket: the notice,
    then the close, as `_slow` does.)"""
    keys = run(web_server.create_session("web-dialogue"))
    link = f"{web_server.url}/join#"
    med = open_page(browser, "slow-mediator", DESKTOP)
    a = open_page(browser, "slow-a", PHONE_390)
    b = open_page(browser, "slow-b", PHONE_390)
    pages = [med, a, b]
    sockets: list[tuple[WebSocketRoute, WebSocketRoute]] = []

    def through(ws: WebSocketRoute) -> None:
        sockets.append((ws, ws.connect_to_server()))

    b.page.route_web_socket(re.compile(r"/socket\.io/"), through)
    b.page.add_init_script(WATCH_STOPPED)
    try:
        m, pa, pb = med.page, a.page, b.page
        m.goto(link + keys.tokens["mediator"])
        pa.goto(link + keys.tokens["partner_a"])
        pb.goto(link + keys.tokens["partner_b"])
        start_dialogue(m, pa)
        pa.get_by_label("What you want to say").fill(A_SAYS)
        pa.get_by_role("button", name="Say it").click()
        expect(pb.get_by_test_id("mirror-statement")).to_have_text(A_SAYS)
        assert len(sockets) == 1

        page_side, server_side = sockets[-1]
        notice = {"code": "slow_consumer", "message": "This connection fell too far behind."}
        page_side.send(msgpack.packb({"type": 2, "data": ["notice", notice], "nsp": "/"}))
        page_side.close()
        server_side.close()

        expect(pb.get_by_test_id("headline")).to_have_text(
            "Your turn: paraphrase what your partner said."
        )
        expect(pb.locator('.presence[data-seat="partner_b"] .status')).to_have_text(
            "here", timeout=15_000
        )
        assert len(sockets) == 2, "it reconnected by itself, once"
        expect(pb.get_by_test_id("reconnect-banner")).to_be_hidden()
        paraphrase = pb.get_by_label("In your own words, what did your partner say?")
        expect(paraphrase).to_be_enabled()
        paraphrase.fill(B_PARAPHRASE)
        pb.get_by_role("button", name="Send my paraphrase").click()
        expect(pa.get_by_test_id("paraphrase-to-confirm")).to_have_text(B_PARAPHRASE)
        expect(pb.locator(".transcript li", has_text=A_SAYS)).to_have_count(1)
        assert pb.evaluate("window.__stoppedSeen") == 0, pb.evaluate("window.__stoppedText")
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()


T = TypeVar("T")


class Loop:
    """An event loop in a thread of its own, for Socket.IO clients that stay
    connected across several steps of a (sync) Playwright test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def __call__(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def close(self) -> None:
        async def settle() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        self(settle())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def test_too_many_connections_says_so_and_retries(browser: Browser, web_server: Server) -> None:
    """A seat open on too many connections: the page says why it cannot connect
    yet, and gets in by itself (with backoff) once one of them closes."""
    keys = run(web_server.create_session("web-dialogue"))
    loop = Loop()
    others: list[Seat] = []
    b = open_page(browser, "crowded-b", PHONE_390)
    try:

        async def open_four() -> None:
            for _ in range(4):  # max_connections_per_seat
                seat = Seat(web_server.url, keys.tokens["partner_b"], "partner_b")
                await seat.connect()
                others.append(seat)

        loop(open_four())
        pb = b.page
        pb.goto(f"{web_server.url}/join#" + keys.tokens["partner_b"])
        status = pb.get_by_role("status").filter(has_text="too many devices or tabs")
        expect(status).to_contain_text("close one and try again")
        expect(status).to_contain_text("Trying again")
        b.screenshot("too-many")
        pb.wait_for_timeout(2_000)  # it retries, and is refused again: still says why
        expect(status).to_be_visible()
        loop(others.pop().close())
        expect(pb.get_by_test_id("headline")).to_have_text(
            "Waiting room: the mediator will let you in.", timeout=20_000
        )
        expect(pb.get_by_test_id("timeout-button")).to_be_enabled()
        b.check()
    finally:
        b.close()

        async def close_all() -> None:
            for seat in others:
                await seat.close()

        loop(close_all())
        loop.close()


def test_what_waits_when_the_link_is_revoked_is_answered_and_the_time_out_never_waits(
    browser: Browser, web_server: Server
) -> None:
    """B's paraphrase goes unanswered (the test holds it on the wire); B's
    time-out does not wait behind it and reaches everyone. Then the mediator
    revokes B's link: the paraphrase still waiting is answered by the page
    itself ("not confirmed"), its button is no longer busy, and the page shows
    the ended state: no button stays busy, none does nothing."""
    keys = run(web_server.create_session("speaker-listener"))
    link = f"{web_server.url}/join#"
    med = open_page(browser, "held-mediator", DESKTOP)
    a = open_page(browser, "held-a", PHONE_390)
    b = open_page(browser, "held-b", PHONE_390)
    pages = [med, a, b]
    held: list[bytes] = []

    def through(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def upstream(message: str | bytes) -> None:
            if isinstance(message, bytes):
                data = msgpack.unpackb(message).get("data")
                command = data[1] if isinstance(data, list) and data[0] == "command" else {}
                if command.get("type") == "paraphrase":
                    held.append(message)  # never reaches the server
                    return
            server.send(message)

        ws.on_message(upstream)

    b.page.route_web_socket(re.compile(r"/socket\.io/"), through)
    try:
        m, pa, pb = med.page, a.page, b.page
        m.goto(link + keys.tokens["mediator"])
        pa.goto(link + keys.tokens["partner_a"])
        pb.goto(link + keys.tokens["partner_b"])
        start_dialogue(m, pa)
        pa.get_by_label("What you want to say").fill(A_SAYS)
        pa.get_by_role("button", name="Say it").click()
        expect(pb.get_by_test_id("mirror-statement")).to_have_text(A_SAYS)

        send = pb.get_by_role("button", name="Send my paraphrase")
        pb.get_by_label("In your own words, what did your partner say?").fill(B_PARAPHRASE)
        send.click()
        expect(send).to_have_attribute("aria-busy", "true")
        assert held, "the paraphrase was sent (and held)"
        # The time-out does not queue behind the unanswered paraphrase.
        pb.get_by_test_id("timeout-button").click()
        expect(m.get_by_test_id("live-timeout")).to_be_visible()
        expect(pa.get_by_test_id("timeout-panel")).to_be_visible()
        expect(pb.get_by_test_id("timeout-panel")).to_be_visible()
        expect(pb.get_by_test_id("timeout-note")).to_be_hidden()
        busy = pb.locator('[aria-busy="true"]')
        expect(busy).to_have_count(1)  # the paraphrase (hidden under the time-out), still waiting

        run(_revoke(web_server, keys.id, keys.invites["partner_b"]))
        expect(pb.get_by_test_id("stopped")).to_contain_text("Ask your mediator for a new link.")
        expect(pb.get_by_test_id("refusal")).to_have_text(
            "Your paraphrase was not confirmed: this device was disconnected"
            " from the session before it answered."
        )
        expect(busy).to_have_count(0)
        assert enabled_controls(pb) == [], enabled_controls(pb)
        b.assert_accessible()
        phone_shot(b, "revoked-while-waiting")
        expect(m.locator(".transcript-card .transcript li", has_text=B_PARAPHRASE)).to_have_count(0)
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()


def test_the_mediators_time_out_started_offline_is_delivered_on_reconnect(
    browser: Browser, web_server: Server
) -> None:
    keys = run(web_server.create_session("speaker-listener"))
    link = f"{web_server.url}/join#"
    med = open_page(browser, "offline-console", DESKTOP, tolerated=OUTAGE)
    a = open_page(browser, "offline-console-a", PHONE_390, tolerated=OUTAGE)
    pages = [med, a]
    try:
        m, pa = med.page, a.page
        m.goto(link + keys.tokens["mediator"])
        pa.goto(link + keys.tokens["partner_a"])
        start_dialogue(m, pa)
        start = m.get_by_test_id("start-timeout")
        expect(start).to_have_text("Start a time-out")

        web_server.kill()
        expect(m.get_by_test_id("reconnect-banner")).to_be_visible()
        expect(start).to_have_text("Start a time-out (sent when the connection is back)")
        expect(start).to_be_enabled()
        start.click()
        expect(m.get_by_test_id("start-timeout-note")).to_have_text(
            "Time-out queued — it will be sent when the connection is back."
        )
        expect(start).to_have_text("Time-out queued")
        med.screenshot("timeout-queued")
        med.assert_accessible()

        run(web_server.start())
        expect(m.get_by_test_id("live-timeout")).to_be_visible(timeout=15_000)
        expect(m.get_by_text("Called by Mediator.")).to_be_visible()
        expect(m.get_by_test_id("start-timeout-note")).to_be_hidden()
        expect(pa.get_by_test_id("timeout-panel")).to_be_visible(timeout=15_000)
        expect(pa.get_by_text("The mediator called a time-out.")).to_be_visible()
        transcript = m.locator(".transcript-card .transcript")
        expect(transcript.locator('li[data-type="timeout.started"]')).to_have_count(1)
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()


def test_a_long_history_streamed_in_batches_is_shown_whole_and_once(
    browser: Browser, web_server: Server
) -> None:
    """A join answered by several `events` batches before its ack (a history of
    more than the server's 64 KiB page): the page shows every event once, in
    order, and carries on live after it."""
    keys = run(web_server.create_session("web-dialogue"))
    notes = [f"note-{i:02d} " + "x" * 3_500 for i in range(30)]  # ~105 KB of history

    async def write_history() -> int:
        mediator = Seat(web_server.url, keys.tokens["mediator"], "mediator")
        await mediator.connect()
        await mediator.join()
        for text in notes:
            await mediator.ok("note", text=text)
        await mediator.close()
        # How a fresh join of that seat is answered: batches before the ack.
        fresh = Seat(web_server.url, keys.tokens["mediator"], "mediator")
        await fresh.connect()
        await fresh.join()
        await fresh.close()
        return len([b for b in fresh.batches if b])

    batches = run(write_history())
    assert batches >= 2, f"the history came in {batches} batch(es); the test needs several"
    med = open_page(browser, "long-history", DESKTOP)
    try:
        m = med.page
        m.goto(f"{web_server.url}/join#" + keys.tokens["mediator"])
        listed = m.get_by_test_id("notes-list").locator("li")
        expect(listed).to_have_count(len(notes))
        texts = listed.all_inner_texts()
        assert [t.split()[1] for t in texts] == [n.split()[0] for n in notes], texts
        lines = m.locator('.transcript-card .transcript li[data-type="note.added"]')
        expect(lines).to_have_count(len(notes))
        seqs = [int(s) for s in lines.evaluate_all("els => els.map(e => e.dataset.seq)")]
        assert seqs == sorted(set(seqs)), seqs
        # And it is live: a command after the history goes through.
        m.get_by_role("button", name="Admit Partner A").click()
        expect(m.get_by_test_id("live-stage")).to_have_text("Lobby: admitted Partner A.")
        expect(listed).to_have_count(len(notes))
        med.check()
    finally:
        med.close()
