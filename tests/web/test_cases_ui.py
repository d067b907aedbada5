"""Cases through the console and the partner pages (issue 11): a case made in
the console with two names, a session created in it from its page, the names
on the partner pages and the console instead of "Partner A/B", a partner
changing their own name (the case follows), and the mediator renaming a
partner from the case page (the live session follows).
"""

from __future__ import annotations

import re

from hubtest import Server
from playwright.sync_api import Browser, Page, expect
from webtest import DESKTOP, EMAIL, PASSWORD, PHONE, Watched, open_page, run

#: The browser logs each refused request (a 422 here, on purpose: an empty name).
REFUSED = [re.compile(r"Failed to load resource: the server responded with a status of 422")]


def log_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_case_its_session_and_the_names_on_every_page(
    browser: Browser, web_server: Server
) -> None:
    run(web_server.cli("mediator", "add", EMAIL, "--password-stdin", stdin=PASSWORD + "\n"))
    med = open_page(browser, "case-console", DESKTOP, tolerated=REFUSED)
    pages: list[Watched] = [med]
    try:
        m = med.page
        log_in(m, f"{web_server.url}/console")
        expect(m.get_by_role("heading", name="New session")).to_be_visible()

        # -- the cases: an empty list, a refusal that says what to do, then a case -----------------
        m.get_by_role("link", name="Cases", exact=True).click()
        expect(m.get_by_role("heading", name="New case")).to_be_visible()
        expect(m.get_by_text("No cases yet.")).to_be_visible()
        m.get_by_label("Partner A's name").fill("   ")
        m.get_by_label("Partner B's name").fill("Alex")
        m.get_by_role("button", name="Create case").click()
        expect(m.get_by_role("alert")).to_contain_text("give a name or a pseudonym")
        m.get_by_label("Partner A's name").fill("Sam")
        m.get_by_role("button", name="Create case").click()
        expect(m.get_by_role("heading", name="Sam & Alex", exact=True)).to_be_visible()
        expect(m).to_have_url(re.compile(r"#case=[A-Za-z0-9_-]+$"))
        case_url = m.url
        expect(m.get_by_text("No sessions yet.")).to_be_visible()
        expect(m.get_by_test_id("case-progress")).to_contain_text("Progress")
        med.screenshot("case-empty")
        med.assert_accessible()

        # -- a session in the case, with a playbook; its page names the partners -------------------
        m.get_by_test_id("case-playbook-select").select_option("web-dialogue")
        m.get_by_role("button", name="Create session in this case").click()
        expect(m.get_by_role("heading", name="Speaker-Listener (browser tests)")).to_be_visible()
        expect(m.get_by_role("link", name="← Case: Sam & Alex")).to_be_visible()
        expect(m.get_by_role("button", name="Copy Sam's link")).to_be_visible()
        expect(m.get_by_role("button", name="Copy Alex's link")).to_be_visible()
        links = {
            seat: m.get_by_test_id(f"link-{seat}").input_value()
            for seat in ("partner_a", "partner_b")
        }
        assert all(link.startswith(f"{web_server.url}/join#") for link in links.values()), links
        expect(m.get_by_role("button", name="Admit Sam")).to_be_visible()
        expect(m.get_by_role("button", name="Admit Alex")).to_be_visible()

        # -- the partners see the names: their own, and the other's --------------------------------
        a = open_page(browser, "case-partner-a", PHONE)
        b = open_page(browser, "case-partner-b", PHONE)
        pages += [a, b]
        pa, pb = a.page, b.page
        pa.goto(links["partner_a"])
        pb.goto(links["partner_b"])
        expect(pa.get_by_test_id("seat-label")).to_have_text("You are Sam")
        expect(pb.get_by_test_id("seat-label")).to_have_text("You are Alex")
        expect(pa.locator('.presence[data-seat="partner_b"] .who')).to_have_text("Alex")
        expect(pa.locator('.presence[data-seat="partner_a"] .who')).to_have_text("You")
        expect(m.locator('.now .presence-list [data-seat="partner_a"] .who')).to_have_text("Sam")
        expect(pa.get_by_test_id("my-name")).to_have_text("You are shown as “Sam”.")
        assert "Partner A" not in pa.get_by_test_id("seat-label").inner_text()
        a.screenshot("case-lobby")
        a.assert_accessible()
        a.assert_fits()

        # -- a partner changes their own name: everyone sees it, and the case keeps it -------------
        pb.get_by_text("Change your name").click()
        pb.get_by_label("Your name in this session").fill("  Robin  ")
        pb.get_by_role("button", name="Change my name").click()
        expect(pb.get_by_test_id("seat-label")).to_have_text("You are Robin")
        expect(pb.get_by_text("Saved. Everyone in the session now sees it.")).to_be_visible()
        expect(pb.get_by_test_id("my-name")).to_have_text("You are shown as “Robin”.")
        pb.get_by_text("Change your name").click()
        expect(pb.get_by_label("Your name in this session")).to_have_value("Robin")
        expect(pa.locator('.presence[data-seat="partner_b"] .who')).to_have_text("Robin")
        expect(m.locator('.now .presence-list [data-seat="partner_b"] .who')).to_have_text("Robin")
        expect(m.locator(".transcript")).to_contain_text("renamed Partner B: “Robin”")
        # Too long for a name: the page holds the box to the server's limit.
        assert pb.get_by_label("Your name in this session").get_attribute("maxlength") == "40"
        b.screenshot("case-renamed")

        m.get_by_role("button", name="Admit Sam").click()
        m.get_by_role("button", name="Admit Robin").click()  # the lobby follows the rename
        m.get_by_role("button", name="Start: Speaker-listener").click()
        expect(pa.get_by_test_id("headline")).to_have_text("Your turn to speak.")

        # -- the case page: the session in order, the new name; a rename reaches the session -------
        console2 = open_page(browser, "case-page", DESKTOP, tolerated=REFUSED)
        pages.append(console2)
        c = console2.page
        log_in(c, case_url)
        expect(c.get_by_role("heading", name="Sam & Alex", exact=True)).to_be_visible()
        expect(c.get_by_test_id("rename-b")).to_have_value("Robin")
        sessions = c.get_by_test_id("case-sessions").locator(":scope > li")
        expect(sessions).to_have_count(1)
        expect(sessions.first).to_contain_text("Speaker-Listener (browser tests)")
        expect(sessions.first).to_contain_text("Speaker-listener: in progress")
        c.get_by_test_id("rename-a").fill("Kai")
        c.get_by_role("button", name="Save names").click()
        expect(c.get_by_text("Saved, and sent to 1 open session.")).to_be_visible()
        expect(pa.get_by_test_id("seat-label")).to_have_text("You are Kai")
        expect(pb.locator('.presence[data-seat="partner_a"] .who')).to_have_text("Kai")
        # A name must say something: the refusal is the server's, saying what to do.
        c.get_by_test_id("rename-a").fill(" ")
        c.get_by_role("button", name="Save names").click()
        expect(
            c.get_by_role("status").filter(has_text="give a name or a pseudonym")
        ).to_be_visible()
        console2.screenshot("case-page")
        console2.assert_accessible()

        # -- the list of cases shows it ------------------------------------------------------------
        c.get_by_role("link", name="← All cases").click()
        row = c.get_by_test_id("cases-table").locator("tbody tr")
        expect(row).to_have_count(1)
        expect(row.first).to_contain_text("Kai & Robin")
        expect(row.first.locator("td").nth(2)).to_have_text("1")
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()
