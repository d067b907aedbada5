"""A whole speaker-listener session through the web client only: a mediator and
two partners in three browser contexts (issue 4).

Setup and login, a session made from the console, invite links copied from the
console, joining, a statement, a corrected then confirmed paraphrase, yielding,
the reply, a partner's time-out (countdown and breathing guide, its private
reason only on the console), the debrief after it, private notes, the balance
panel, and the end. Every page's console must stay free of errors.
"""

from __future__ import annotations

import re

from hubtest import Server
from playwright.sync_api import Browser, Page, expect
from webtest import DESKTOP, EMAIL, PASSWORD, PHONE, Watched, open_page, setup_link

A_SAYS = "I felt alone when you stayed late at work all week."
B_WRONG = "You are angry that I work a lot."
A_NOT_QUITE = "Not angry: lonely."
B_RIGHT = "You felt lonely when I stayed late every evening."
B_REPLY = "I stayed late because I was worried about losing my job."
A_MIRROR = "You stayed late because you were worried about your job."
B_REASON = "private-reason-7f3a: my chest is tight"
A_DEBRIEF = "a-debrief-2c91: calmer now"
B_DEBRIEF = "b-debrief-55e0: I need a glass of water"
NOTE = "mediator-note-9d4e: watch B's breathing"
END_REASON = "We are out of time for today."


def test_a_whole_session_through_the_ui(browser: Browser, web_server: Server) -> None:
    url = web_server.url
    med = open_page(browser, "console", DESKTOP, origin=url)
    pages: list[Watched] = [med]
    try:
        run_session(browser, web_server, med, pages)
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()


def run_session(browser: Browser, server: Server, med: Watched, pages: list[Watched]) -> None:
    m = med.page

    # -- first run: create the mediator account from the setup link -------------------------------
    m.goto(setup_link(server.log()))
    expect(m.get_by_role("heading", name="Create the first mediator account")).to_be_visible()
    med.screenshot("setup")
    med.assert_accessible()
    m.get_by_label("Email").fill(EMAIL)
    m.get_by_label("Password", exact=True).fill(PASSWORD)
    m.get_by_label("Password again").fill(PASSWORD)
    m.get_by_role("button", name="Create the account").click()
    expect(m.get_by_role("heading", name="New session")).to_be_visible()
    expect(m).to_have_url(re.compile(r"/console$"))

    # -- log out and in again ---------------------------------------------------------------------
    m.get_by_role("button", name="Log out").click()
    expect(m.get_by_role("heading", name="Log in")).to_be_visible()
    med.screenshot("login")
    med.assert_accessible()
    m.get_by_label("Email").fill(EMAIL)
    m.get_by_label("Password").fill(PASSWORD)
    m.get_by_role("button", name="Log in").click()
    expect(m.get_by_role("heading", name="New session")).to_be_visible()

    # -- create a session from a playbook; copy the partners' links from the console --------------
    m.get_by_label("Playbook").select_option("web-dialogue")
    m.get_by_label("Title (optional)").fill("Ann & Bo")
    m.get_by_role("button", name="Create session").click()
    expect(m.get_by_role("heading", name="Ann & Bo")).to_be_visible()
    links = {}
    for seat, label in (("partner_a", "Partner A"), ("partner_b", "Partner B")):
        m.get_by_role("button", name=f"Copy {label}'s link").click()
        expect(m.get_by_text("Copied.")).to_have_count(1 if seat == "partner_a" else 2)
        links[seat] = m.evaluate("navigator.clipboard.readText()")
        assert links[seat].startswith(f"{server.url}/join#"), links[seat]
    assert links["partner_a"] != links["partner_b"]
    expect(m.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")

    # -- the partners join: A on a phone, B on a laptop -------------------------------------------
    a = open_page(browser, "partner-a", PHONE, reduced_motion=True)
    b = open_page(browser, "partner-b", DESKTOP)
    pages += [a, b]
    pa, pb = a.page, b.page
    pa.goto(links["partner_a"])
    pb.goto(links["partner_b"])
    expect(pa.get_by_test_id("headline")).to_have_text(
        "Waiting room: the mediator will let you in."
    )
    expect(pa.get_by_text("You are Partner A")).to_be_visible()
    expect(pb.get_by_text("You are Partner B")).to_be_visible()
    presence = m.locator(".now .presence-list")
    expect(presence.locator('[data-seat="partner_a"] .status')).to_have_text("here")
    expect(presence.locator('[data-seat="partner_b"] .status')).to_have_text("here")
    expect(pa.locator('.presence[data-seat="partner_b"] .status')).to_have_text("here")
    expect(pa.locator('.presence[data-seat="mediator"] .status')).to_have_text("here")
    # The time-out button is there from the first moment.
    expect(pa.get_by_test_id("timeout-button")).to_be_enabled()

    m.get_by_role("button", name="Admit Partner A").click()
    m.get_by_role("button", name="Admit Partner B").click()
    expect(pa.get_by_test_id("headline")).to_have_text(
        "You're in. Waiting for the mediator to begin."
    )
    a.screenshot("lobby")
    m.get_by_role("button", name="Start: Speaker-listener").click()

    # -- A holds the floor: A's statement box is enabled, B's is not ------------------------------
    expect(pa.get_by_test_id("headline")).to_have_text("Your turn to speak.")
    expect(pb.get_by_test_id("headline")).to_have_text("Your partner has the floor. Listen.")
    expect(pa.get_by_test_id("floor")).to_have_text("Floor: you")
    expect(pb.get_by_test_id("floor")).to_have_text("Floor: your partner")
    statement_a = pa.get_by_label("What you want to say")
    expect(statement_a).to_be_enabled()
    expect(pb.get_by_label("What you want to say")).to_be_disabled()
    expect(pa.get_by_text("0 / 280 characters")).to_be_visible()
    expect(statement_a).to_have_attribute("maxlength", "280")
    expect(m.get_by_test_id("live-stage")).to_have_text("Floor: Partner A — speaking.")
    # Turn changes are announced through the live region.
    expect(pa.locator("#announcer")).to_have_text("Your turn to speak.")
    a.screenshot("speaking")
    a.assert_accessible()

    # A writes and sends with the keyboard only.
    statement_a.focus()
    pa.keyboard.type(A_SAYS)
    expect(pa.get_by_text(f"{len(A_SAYS)} / 280 characters")).to_be_visible()
    pa.keyboard.press("Tab")
    expect(pa.get_by_role("button", name="Say it")).to_be_focused()
    pa.keyboard.press("Enter")

    # -- B must paraphrase first; A corrects, B tries again, A confirms ---------------------------
    expect(pb.get_by_test_id("headline")).to_have_text(
        "Your turn: paraphrase what your partner said."
    )
    expect(pb.get_by_test_id("mirror-statement")).to_have_text(A_SAYS)
    expect(pa.get_by_test_id("headline")).to_have_text(
        "Your partner is putting what you said in their own words."
    )
    expect(statement_a).to_be_disabled()
    b.screenshot("mirror")
    b.assert_accessible()
    pb.get_by_label("In your own words, what did your partner say?").fill(B_WRONG)
    pb.get_by_role("button", name="Send my paraphrase").click()

    expect(pa.get_by_test_id("paraphrase-to-confirm")).to_have_text(B_WRONG)
    a.screenshot("confirm")
    a.assert_accessible()
    pa.get_by_label("Not quite? Say what was missed (optional)").fill(A_NOT_QUITE)
    pa.get_by_role("button", name="Not quite").click()

    expect(pb.get_by_test_id("correction")).to_contain_text(A_NOT_QUITE)
    expect(pb.get_by_test_id("correction")).to_contain_text("attempt 2")
    pb.get_by_label("In your own words, what did your partner say?").fill(B_RIGHT)
    pb.get_by_role("button", name="Send my paraphrase").click()
    expect(pa.get_by_test_id("paraphrase-to-confirm")).to_have_text(B_RIGHT)
    expect(m.get_by_test_id("live-stage")).to_contain_text("paraphrase attempt 2")
    pa.get_by_role("button", name="That's it").click()

    # -- "is there more?": A yields; only now may B reply -----------------------------------------
    expect(pa.get_by_test_id("headline")).to_have_text("Your partner got it. Is there more?")
    expect(pa.get_by_role("button", name="There's more")).to_be_visible()
    expect(pb.get_by_label("What you want to say")).to_be_disabled()
    pa.get_by_role("button", name="That's all — yield the floor").click()
    expect(pb.get_by_test_id("headline")).to_have_text("Your turn to speak.")
    expect(pb.locator("#announcer")).to_have_text("Your turn to speak.")
    pb.get_by_label("What you want to say").fill(B_REPLY)
    pb.get_by_role("button", name="Say it").click()
    expect(pa.get_by_test_id("mirror-statement")).to_have_text(B_REPLY)
    pa.get_by_label("In your own words, what did your partner say?").fill(A_MIRROR)
    pa.get_by_role("button", name="Send my paraphrase").click()
    expect(pb.get_by_test_id("paraphrase-to-confirm")).to_have_text(A_MIRROR)
    pb.get_by_role("button", name="That's it").click()
    expect(pb.get_by_test_id("headline")).to_have_text("Your partner got it. Is there more?")

    # The console's transcript has every attempt; its balance panel counts them.
    transcript = m.locator(".transcript-card .transcript")
    expect(transcript).to_contain_text("paraphrased (attempt 1)")
    expect(transcript).to_contain_text("paraphrased (attempt 2)")
    expect(transcript).to_contain_text(A_NOT_QUITE)
    balance = m.locator(".balance-table")
    expect(balance.locator("tr", has_text="Statements")).to_contain_text("1 (50%)")
    expect(balance.locator("tr", has_text="Paraphrase attempts")).to_contain_text("2")
    expect(balance.locator("tr", has_text="corrections")).to_contain_text("1")
    expect(balance.locator("tr", has_text="Refused attempts")).to_contain_text("0")
    med.screenshot("live-dialogue")
    med.assert_accessible()

    # -- B calls a time-out with a private reason: one tap ----------------------------------------
    pb.get_by_text("Add a private reason").click()
    pb.get_by_test_id("timeout-reason").fill(B_REASON)
    pb.get_by_test_id("timeout-button").focus()
    pb.keyboard.press("Space")
    for page in (pa, pb):
        expect(page.get_by_test_id("timeout-panel")).to_be_visible()
        expect(page.get_by_test_id("countdown")).to_have_text(re.compile(r"^0:0[0-9]$"))
        expect(page.get_by_test_id("headline")).to_have_text("Time-out: everything is paused.")
    expect(pa.get_by_text("Your partner called a time-out.")).to_be_visible()
    expect(pa.locator(".breath-circle")).to_be_visible()
    # The breathing guide moves (4 s in, 6 s out) unless the person asked for less motion.
    expect(pb.locator(".breath-circle")).to_have_css("animation-name", "breathe")
    expect(pb.locator(".breath-circle")).to_have_css("animation-duration", "10s")
    expect(pa.locator(".breath-circle")).to_have_css("animation-name", "none")
    expect(pa.get_by_test_id("timeout-button")).to_be_enabled()
    expect(m.get_by_test_id("private-list")).to_contain_text(B_REASON)
    expect(m.get_by_test_id("live-timeout")).to_be_visible()
    assert B_REASON not in a.text()
    # The mediator lengthens it by six seconds, to look at it.
    m.get_by_label("Extend by (minutes)").fill("0.1")
    m.get_by_role("button", name="Extend").click()
    expect(m.locator(".transcript-card")).to_contain_text("extended the time-out")
    a.screenshot("timeout")
    a.assert_accessible()
    expect(pa.get_by_test_id("timeout-panel")).to_be_visible()  # still the time-out, above

    # -- the server ends it; the debrief follows --------------------------------------------------
    for page in (pa, pb):
        expect(page.get_by_test_id("debrief-panel")).to_be_visible(timeout=15_000)
    expect(pa.get_by_test_id("timeout-panel")).to_be_hidden()
    b.screenshot("debrief")
    b.assert_accessible()
    answer_debrief(pa, 3, A_DEBRIEF)
    expect(pa.get_by_test_id("debrief-done")).to_contain_text("Waiting for your partner")
    answer_debrief(pb, 7, B_DEBRIEF)
    expect(m.get_by_test_id("private-list")).to_contain_text(A_DEBRIEF)
    expect(m.get_by_test_id("private-list")).to_contain_text(B_DEBRIEF)
    expect(m.get_by_test_id("private-list")).to_contain_text("Partner B — debrief: 7/10")
    # Back where the time-out interrupted: B's paraphrase was confirmed.
    expect(pb.get_by_test_id("headline")).to_have_text("Your partner got it. Is there more?")
    expect(pa.get_by_test_id("headline")).to_have_text(
        "Your partner may say more or yield the floor."
    )

    # -- a private note ---------------------------------------------------------------------------
    m.get_by_label("Note (only you see it)").fill(NOTE)
    m.get_by_role("button", name="Add note").click()
    expect(m.get_by_test_id("notes-list")).to_contain_text(NOTE)
    expect(balance.locator("tr", has_text="Time-outs called")).to_contain_text("1")

    # Partners never see each other's private words, nor the mediator's.
    for page, secrets in ((a, (B_REASON, B_DEBRIEF, NOTE)), (b, (A_DEBRIEF, NOTE))):
        text = page.text()
        for secret in secrets:
            assert secret not in text, f"{page.name} shows {secret!r}"

    # -- an override needs its reason; then the mediator ends the session -------------------------
    m.get_by_role("button", name="End the session").click()
    expect(m.get_by_test_id("refusal")).to_contain_text("without a reason")
    m.get_by_label("Reason", exact=True).fill(END_REASON)
    m.get_by_role("button", name="End the session").click()
    expect(m.get_by_test_id("refusal")).to_be_hidden()
    for page in (pa, pb):
        expect(page.get_by_test_id("ended")).to_contain_text("The session has ended")
        expect(page.get_by_test_id("ended")).to_contain_text(END_REASON)
        expect(page.get_by_test_id("timeout-button")).to_be_disabled()
    expect(m.get_by_test_id("live-stage")).to_have_text("The session has ended.")

    for page, secrets in ((a, (B_REASON, B_DEBRIEF, NOTE)), (b, (A_DEBRIEF, NOTE))):
        text = page.text()
        for secret in secrets:
            assert secret not in text, f"{page.name} shows {secret!r}"
    assert B_REASON in med.text() and NOTE in med.text()

    # -- layout: nothing sideways at 360 px; screenshots of each page -----------------------------
    for page in (med, a, b):
        page.assert_fits()
        page.screenshot("ended")
        page.assert_accessible()
    m.goto(f"{server.url}/console")
    expect(m.get_by_role("link", name="Ann & Bo")).to_be_visible()
    med.assert_fits()
    med.screenshot("sessions")
    med.assert_accessible()


def answer_debrief(page: Page, rating: int, text: str) -> None:
    page.locator(f'label[for="rating-{rating}"]').click()
    page.get_by_label("What do you need to go on?").fill(text)
    page.get_by_role("button", name="Send my answers").click()
