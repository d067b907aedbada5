"""Imago Intentional Dialogue through the partner pages (issue 4): a clarifying
question and its answer, the mirror, the listener's reflection steps (summary,
validation, empathy) after the sender yields, a waiver by the mediator (with its
reason), and the closing debrief that ends the session by itself."""

from __future__ import annotations

from hubtest import Server
from playwright.sync_api import Browser, Page, expect
from webtest import DESKTOP, PHONE, open_page, run

REFLECTIONS = {
    "Summary (step 1 of 3)": "So the mornings feel rushed and you end up doing it alone.",
    "Validation (step 2 of 3)": "That makes sense, because we both leave at eight.",
    "Empathy (step 3 of 3)": "I imagine you feel tired and a bit let down.",
}


def test_imago_reflection_steps_and_closing_debrief(browser: Browser, web_server: Server) -> None:
    keys = run(web_server.create_session("imago-dialogue"))
    join = f"{web_server.url}/join#"
    med = open_page(browser, "imago-mediator", DESKTOP)
    a = open_page(browser, "imago-a", PHONE)
    b = open_page(browser, "imago-b", DESKTOP)
    pages = [med, a, b]
    try:
        m, pa, pb = med.page, a.page, b.page
        m.goto(join + keys.tokens["mediator"])
        pa.goto(join + keys.tokens["partner_a"])
        pb.goto(join + keys.tokens["partner_b"])
        expect(m.get_by_test_id("live-stage")).to_have_text("Lobby: admitted nobody yet.")
        m.get_by_role("button", name="Admit Partner A").click()
        m.get_by_role("button", name="Admit Partner B").click()
        m.get_by_role("button", name="Start: Intentional dialogue").click()
        expect(pa.get_by_text("0 / 400 characters")).to_be_visible()

        # A speaks; B asks first, A answers, then B mirrors and A confirms.
        say(pa, "Mornings are hard for me.")
        expect(pb.get_by_test_id("mirror-statement")).to_have_text("Mornings are hard for me.")
        pb.get_by_label("Or ask a clarifying question first").fill("Which part of the morning?")
        pb.get_by_role("button", name="Ask the question").click()
        expect(pa.get_by_test_id("headline")).to_have_text(
            "Your partner asked a question. Answer it."
        )
        expect(pa.get_by_text("Which part of the morning?")).to_have_count(2)  # the box, the log
        pa.get_by_label("Your answer").fill("Getting the kids ready alone.")
        pa.get_by_role("button", name="Send my answer").click()
        pb.get_by_label("In your own words, what did your partner say?").fill(
            "Getting the kids ready alone is hard for you."
        )
        pb.get_by_role("button", name="Send my paraphrase").click()
        pa.get_by_role("button", name="That's it").click()
        pa.get_by_role("button", name="That's all — yield the floor").click()

        # B reflects in the playbook's order before the roles swap.
        expect(pb.get_by_test_id("headline")).to_have_text(
            "Your turn: reflect on what your partner said."
        )
        for step, text in REFLECTIONS.items():
            expect(pb.get_by_role("heading", name=step)).to_be_visible()
            pb.get_by_test_id("reflect-box").fill(text)
            pb.get_by_role("button", name="Send", exact=True).click()
            expect(pa.locator(".transcript")).to_contain_text(text)
        b.screenshot("reflected")
        expect(pb.get_by_test_id("headline")).to_have_text("Your turn to speak.")

        # B speaks; the mediator waives A's mirror, which needs a reason.
        say(pb, "I want the mornings to feel shared.")
        expect(pa.get_by_test_id("mirror-statement")).to_have_text(
            "I want the mornings to feel shared."
        )
        m.get_by_role("button", name="Waive the paraphrase").click()
        expect(m.get_by_test_id("refusal")).to_contain_text("without a reason")
        m.get_by_label("Reason", exact=True).fill("A is stuck; moving on.")
        m.get_by_role("button", name="Waive the paraphrase").click()
        expect(pb.get_by_test_id("headline")).to_have_text("Your partner got it. Is there more?")
        expect(pa.locator(".transcript")).to_contain_text("A is stuck; moving on.")
        pb.get_by_role("button", name="That's all — yield the floor").click()
        for step, text in REFLECTIONS.items():
            expect(pa.get_by_role("heading", name=step)).to_be_visible()
            pa.get_by_test_id("reflect-box").fill(text)
            pa.get_by_role("button", name="Send", exact=True).click()

        # One round each: the closing debrief comes by itself, then the end.
        for page in (pa, pb):
            expect(page.get_by_test_id("headline")).to_have_text(
                "Closing debrief: a few questions."
            )
        for page, rating in ((pa, 2), (pb, 4)):
            page.locator(f'label[for="rating-{rating}"]').click()
            page.get_by_label("What is one thing you appreciated").fill("Being heard.")
            page.get_by_role("button", name="Send my answers").click()
        for page in (pa, pb):
            expect(page.get_by_test_id("ended")).to_contain_text("The session has ended")
        expect(m.get_by_test_id("private-list")).to_contain_text("Partner B — debrief: 4/10")
        for page in pages:
            page.check()
    finally:
        for page in pages:
            page.close()


def say(page: Page, text: str) -> None:
    page.get_by_label("What you want to say").fill(text)
    page.get_by_role("button", name="Say it").click()
