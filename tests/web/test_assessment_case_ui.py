"""A case's assessment and follow-up through the pages, then its progress
(issue 11's must-show): the mediator makes a case in the console and runs
`values-assessment.toml` with two phone pages end to end (values cards, the
yes / maybe / no list, the comfort scale, the closing debrief), then a second
session of the same case with `follow-up.toml` (the comfort scale again with
other ratings, and the questionnaire). The case page then shows both
sessions' comfort ratings for both partners and the scores in its charts:
the test reads the data each chart was given (`data-chart`) and the data
Chart.js holds once drawn (`data-drawn`), and the tables under them; the
values and list reveals side by side, the locked answers marked private.
Screenshots: test-artifacts/screenshots/case-report-*.png.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hubtest import Server
from playwright.sync_api import Browser, Page, expect
from test_cases_ui import log_in
from test_comfort_measure_ui import SCENARIO_IDS, TEXTS, choose
from test_mutual_reveal_ui import answer_all
from test_values_sort_ui import CARDS, sort_every_card
from webtest import DESKTOP, EMAIL, PASSWORD, PHONE, SCREENSHOTS, Watched, open_page, run

from accord.core.measures import HOW_ARE_WE_DOING
from accord.core.phases.comfort_scale import SCALE

#: The values-assessment list (protocols/values-assessment.toml): Sam says no
#: to one item (never shown), Alex to another; Sam's maybe has a condition.
LIST_ITEMS = (
    "weekly-check-in",
    "plan-something-new",
    "safe-signal",
    "affection-outside-sex",
    "date-night",
    "talk-before",
    "check-in-after",
    "not-tonight",
    "planned-time",
    "room-for-spontaneity",
    "massage",
    "appreciation",
    "morning-time",
    "weekend-away",
    "read-together",
    "see-a-specialist",
    "slow-down",
    "sleep-close",
)
CONDITION = "If we plan it a week ahead."
SAM_LIST = dict.fromkeys(LIST_ITEMS, "yes") | {"weekend-away": "no", "plan-something-new": "maybe"}
ALEX_LIST = dict.fromkeys(LIST_ITEMS, "yes") | {"morning-time": "no"}
#: Each session's ratings (1 fully comfortable … 5 not), per partner, per scenario.
FIRST = {
    "partner_a": dict(zip(SCENARIO_IDS, (4, 3, 5, 2, 4, 3), strict=True)),
    "partner_b": dict(zip(SCENARIO_IDS, (2, 2, 3, 1, 5, 4), strict=True)),
}
SECOND = {
    "partner_a": dict(zip(SCENARIO_IDS, (2, 2, 4, 1, 3, 3), strict=True)),
    "partner_b": dict(zip(SCENARIO_IDS, (1, 2, 2, 1, 3, 2), strict=True)),
}
SEATS = ("partner_a", "partner_b")
#: The browser logs the report's request that the test makes fail on purpose.
UNREACHABLE = [re.compile(r"Failed to load resource: net::ERR_FAILED")]


def new_session(m: Page, playbook: str, title: str) -> dict[str, str]:
    """On the case page: create a session with `playbook`; its partner links."""
    m.get_by_test_id("case-playbook-select").select_option(playbook)
    m.get_by_role("button", name="Create session in this case").click()
    expect(m.get_by_role("heading", name=title)).to_be_visible()
    return {seat: m.get_by_test_id(f"link-{seat}").input_value() for seat in SEATS}


def admit_and_start(m: Page, first_phase: str) -> None:
    m.get_by_role("button", name="Admit Sam").click()
    m.get_by_role("button", name="Admit Alex").click()
    m.get_by_role("button", name=f"Start: {first_phase}").click()


def advance(m: Page) -> None:
    button = m.get_by_test_id("advance")
    expect(button).to_have_attribute("data-needs-reason", "false")
    button.click()


def rate_all(page: Page, ratings: dict[str, int]) -> None:
    expect(page.get_by_test_id("comfort-panel")).to_be_visible()
    for scenario, value in ratings.items():
        choose(page, scenario, SCALE[value - 1])
    page.get_by_test_id("comfort-done").click()
    expect(page.get_by_test_id("headline")).to_have_text("Thank you: your ratings are in.")


def debrief(pages: tuple[Page, Page]) -> None:
    for page, rating in zip(pages, (2, 3), strict=True):
        page.locator(f'label[for="rating-{rating}"]').click()
        page.get_by_role("button", name="Send my answers").click()
    for page in pages:
        expect(page.get_by_test_id("ended")).to_contain_text("The session has ended")


def chart_data(page: Page, testid: str) -> tuple[dict[str, Any], list[list[int | None]]]:
    """The data a chart was given, and the data Chart.js holds once it drew it."""
    figure = page.get_by_test_id(testid)
    expect(figure).to_have_attribute("data-drawn", re.compile(r"^\[.*\]$"))
    given = json.loads(figure.get_attribute("data-chart") or "{}")
    drawn = json.loads(figure.get_attribute("data-drawn") or "[]")
    return given, drawn


def test_an_assessment_and_a_follow_up_tracked_on_the_case_page(
    browser: Browser, web_server: Server
) -> None:
    run(web_server.cli("mediator", "add", EMAIL, "--password-stdin", stdin=PASSWORD + "\n"))
    med = open_page(browser, "case-report", DESKTOP, tolerated=UNREACHABLE)
    a = open_page(browser, "case-report-a", PHONE)
    b = open_page(browser, "case-report-b", PHONE)
    pages: list[Watched] = [med, a, b]
    try:
        m, pa, pb = med.page, a.page, b.page
        log_in(m, f"{web_server.url}/console")
        m.get_by_role("link", name="Cases", exact=True).click()
        m.get_by_label("Partner A's name").fill("Sam")
        m.get_by_label("Partner B's name").fill("Alex")
        m.get_by_role("button", name="Create case").click()
        expect(m.get_by_role("heading", name="Sam & Alex", exact=True)).to_be_visible()
        case_url = m.url
        progress = m.get_by_test_id("case-progress")
        expect(progress).to_contain_text("Run a session with a comfort scale")
        med.screenshot("empty")

        # -- session 1: the values assessment, end to end -------------------------------------
        links = new_session(m, "values-assessment", "Values assessment")
        pa.goto(links["partner_a"])
        pb.goto(links["partner_b"])
        admit_and_start(m, "Values cards")
        sort_every_card(
            pa,
            {"Connection": "Core — non-negotiable", "Reassurance": "Core — non-negotiable"},
            CARDS,
        )
        sort_every_card(
            pb, {"Connection": "Core — non-negotiable", "Reassurance": "Not important"}, CARDS
        )
        for page in (pa, pb):
            page.get_by_test_id("values-done").click()
        m.get_by_test_id("values-reveal-btn").click()
        expect(pb.get_by_test_id("values-reveal").get_by_test_id("shared-core")).to_have_text(
            "Connection"
        )
        advance(m)

        answer_all(pa, SAM_LIST, CONDITION)
        answer_all(pb, ALEX_LIST)
        for page in (pa, pb):
            page.get_by_test_id("mutual-done").click()
        m.get_by_test_id("mutual-reveal").click()
        expect(pa.get_by_test_id("headline")).to_have_text("Revealed: what you are both open to.")
        advance(m)

        rate_all(pa, FIRST["partner_a"])
        rate_all(pb, FIRST["partner_b"])
        advance(m)
        debrief((pa, pb))

        # -- session 2: the follow-up, the comfort scale again and the questionnaire ----------
        m.goto(case_url)
        expect(m.get_by_test_id("case-sessions").locator(":scope > li")).to_have_count(1)
        links = new_session(m, "follow-up", "Follow-up: comfort scale and check")
        for page, seat in ((pa, "partner_a"), (pb, "partner_b")):
            page.goto("about:blank")  # a new join link: a new page, not a hash change
            page.goto(links[seat])
        admit_and_start(m, "Comfort scale")
        rate_all(pa, SECOND["partner_a"])
        rate_all(pb, SECOND["partner_b"])
        advance(m)
        for page, label in ((pa, "Mostly true"), (pb, "Completely true")):
            expect(page.get_by_test_id("measure-panel")).to_be_visible()
            for item in HOW_ARE_WE_DOING.items:
                choose(page, item.id, label)
            page.get_by_test_id("measure-submit").click()
            expect(page.get_by_test_id("headline")).to_have_text("Thank you: your answers are in.")
        advance(m)
        debrief((pa, pb))

        # -- the case page: both sessions in the charts ---------------------------------------
        m.goto(case_url)
        expect(m.get_by_test_id("case-sessions").locator(":scope > li")).to_have_count(2)
        comfort = m.get_by_test_id("progress-comfort")
        expect(comfort.locator("figure")).to_have_count(len(SCENARIO_IDS))
        for scenario in SCENARIO_IDS:
            given, drawn = chart_data(m, f"chart-comfort-{scenario}")
            assert len(given["labels"]) == 2 and given["labels"][0].startswith("1 · "), given
            expected = [[FIRST[seat][scenario], SECOND[seat][scenario]] for seat in SEATS]
            assert [line["data"] for line in given["lines"]] == expected, scenario
            assert [line["label"] for line in given["lines"]] == ["Sam", "Alex"]
            assert drawn == expected, scenario
        table = m.get_by_test_id("comfort-table-say-what-i-enjoy")
        expect(table.locator("caption")).to_contain_text(TEXTS["say-what-i-enjoy"])
        expect(table.locator("tbody tr")).to_have_count(2)
        expect(table.locator("tbody tr").nth(0)).to_contain_text("5 · Uncertain / not comfortable")
        expect(table.locator("tbody tr").nth(1)).to_contain_text("4 · Hesitant")
        expect(table.locator("tbody tr").nth(1)).to_contain_text("2 · Mostly comfortable")

        # The questionnaire: 5 items × 3 + 2 reverse × 1 = 17; 5 × 4 + 2 × 0 = 20.
        given, drawn = chart_data(m, "chart-measure-accord-how-are-we-doing")
        assert [(line["seat"], line["data"]) for line in given["lines"]] == [
            ("partner_a", [17]),
            ("partner_b", [20]),
            ("gap", [3]),
        ]
        assert drawn == [[17], [20], [3]]
        scores = m.get_by_test_id("measure-table-accord-how-are-we-doing").locator("tbody tr")
        expect(scores).to_have_count(1)
        expect(scores.first).to_contain_text("17 · Mixed")
        expect(scores.first).to_contain_text("20 · Doing well")
        expect(scores.first.locator("td").last).to_have_text("3")
        expect(m.get_by_test_id("measure-changes-accord-how-are-we-doing")).to_contain_text(
            "Shown once a partner has scores from two sessions."
        )

        # The reveals, side by side; what only the mediator saw is marked so.
        expect(m.get_by_test_id("values-shared-core").locator("li")).to_have_text(["Connection"])
        expect(m.get_by_test_id("values-split").locator("li")).to_have_text(
            ["Reassurance — core for Sam"]
        )
        shared = m.get_by_test_id("list-shared")
        expect(shared.locator("tbody tr")).to_have_count(len(LIST_ITEMS) - 2)
        expect(shared).to_contain_text(f"Maybe — {CONDITION}")
        expect(shared).not_to_contain_text("A weekend away to reconnect")
        private = m.get_by_test_id("list-private")
        expect(private.locator(".private-tag")).to_have_text("private: mediator only")
        private.locator("summary").click()
        undisclosed = m.get_by_test_id("list-undisclosed")
        expect(undisclosed.locator("li")).to_have_count(2)
        expect(undisclosed).to_contain_text("A weekend away to reconnect — no from Sam")
        expect(undisclosed).to_contain_text(
            "Time for intimacy in the morning rather than at night — no from Alex"
        )
        med.screenshot("case-page")
        m.set_viewport_size(PHONE)
        m.get_by_test_id("chart-comfort-say-what-i-enjoy").screenshot(
            path=SCREENSHOTS / "case-report-chart-390.png"
        )
        m.set_viewport_size(DESKTOP)
        for part in ("comfort", "measures", "values", "lists"):
            m.get_by_test_id(f"progress-{part}").screenshot(
                path=SCREENSHOTS / f"case-report-{part}.png"
            )
        med.assert_accessible()
        med.assert_fits()

        # The report cannot be fetched: the card says so and offers to try again.
        m.route("**/api/cases/*/report", lambda route: route.abort())
        m.reload()
        error = m.get_by_test_id("progress-error")
        expect(error).to_contain_text("The progress could not be loaded")
        expect(error).to_contain_text("Try again, or reload the page.")
        m.get_by_test_id("case-progress").screenshot(path=SCREENSHOTS / "case-report-error.png")
        m.unroute("**/api/cases/*/report")
        error.get_by_role("button", name="Try again").click()
        expect(m.get_by_test_id("chart-comfort-say-not-tonight")).to_be_visible()
        expect(error).to_have_count(0)
        for watched in pages:
            watched.check()
    finally:
        for watched in pages:
            watched.close()
