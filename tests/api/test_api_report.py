"""The case report over HTTP (`GET /api/cases/{id}/report`, core/report.py).

Three sessions of one case, driven through the real core (decide and evolve,
as the hub drives them) and recorded in the real store: the values assessment
(values cards, the yes / maybe / no list, the comfort scale), then two
follow-ups (the comfort scale again, and the questionnaire). The mediator's
report holds each partner's comfort per scenario over the sessions (the last
rating of each), the scores with their bands, the gap and reliable change,
the latest values reveal and the list's results with the locked answers
marked private. A partner's report (`?for=partner_b`) is built from what that
partner was sent, and carries none of the other partner's private markers.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from apitest import REPO_PROTOCOLS, FakeClock, error_of

from accord.core.codec import encode_event
from accord.core.measures import HOW_ARE_WE_DOING
from accord.core.phases.mutual_reveal import MutualRevealSpec
from accord.core.phases.values_sort import ValuesSortSpec, deck
from accord.core.playbook import parse_playbook
from accord.core.report import PRIVATE
from accord.store.base import Mediator, NewRecord, audience_mask
from accord.store.sqlite import SqliteStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from coretest import Session

SCENARIOS = (
    "hold-hands-in-public",
    "cuddle-no-expectation",
    "say-what-i-enjoy",
    "say-not-tonight",
    "hear-not-tonight",
    "talk-about-frequency",
)
#: Private to partner A and the mediator: none may appear in B's report.
A_NOTE = "Marker-note: my parents never spoke of it."
A_CONDITION = "Marker-condition: only if we agree a signal first."
A_SECRET_NO = "weekend-away"  # A's no, never disclosed (B said yes)
A_SHOWN_NO = "morning-time"  # A's no, disclosed to B after the reveal


@pytest.fixture
def protocols_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "protocols"
    directory.mkdir()
    for name in ("values-assessment.toml", "follow-up.toml", "speaker-listener.toml"):
        shutil.copy(REPO_PROTOCOLS / name, directory / name)
    return directory


def core_session(name: str) -> Session:
    source = (REPO_PROTOCOLS / f"{name}.toml").read_text(encoding="utf-8")
    session = Session(parse_playbook(source, f"{name}.toml")[0])
    session.start()
    return session


async def record(store: SqliteStore, session_id: str, s: Session, at: float) -> None:
    """The core session's events into the store's log of `session_id`."""
    seq = len(await store.read(session_id))
    records = [NewRecord(at, "system", audience_mask(e.audience), encode_event(e)) for e in s.log]
    await store.append(session_id, seq, records)


def each(value: int) -> dict[str, int]:
    return dict.fromkeys(SCENARIOS, value)


def rate(s: Session, ratings: dict[str, dict[str, int]]) -> None:
    for partner, values in ratings.items():
        for scenario, value in values.items():
            s.do(partner, {"type": "comfort.rate", "scenario": scenario, "value": value})
        s.do(partner, {"type": "comfort.done"})
    s.do("mediator", {"type": "phase.advance"})


def answer_measure(s: Session, each: dict[str, int]) -> None:
    """Every item answered the same; the score is 3 × answer + 8 (two reverse items)."""
    for partner, value in each.items():
        answers = {item.id: value for item in HOW_ARE_WE_DOING.items}
        s.do(partner, {"type": "measure.submit", "answers": answers})
    s.do("mediator", {"type": "phase.advance"})


def assessment() -> Session:
    s = core_session("values-assessment")
    spec = s.playbook.phases[1]
    assert isinstance(spec, ValuesSortSpec)
    ids = [c.id for c in deck(spec)]
    sorts = {
        "partner_a": {ids[0]: "core", ids[1]: "core", ids[2]: "not_important"},
        "partner_b": {ids[0]: "core", ids[1]: "not_important", ids[2]: "core"},
    }
    for partner, own in sorts.items():
        s.do(partner, {"type": "values.sort", "cards": {**dict.fromkeys(ids, "negotiable"), **own}})
    s.do("partner_a", {"type": "values.note", "card": ids[0], "text": A_NOTE})
    for partner in sorts:
        s.do(partner, {"type": "values.done"})
    s.do("mediator", {"type": "values.reveal"})
    s.do("mediator", {"type": "phase.advance"})
    # The list: A says no twice (one shown later), B once; A's maybe where B said no.
    answers = {
        "partner_a": {
            "weekly-check-in": ("yes", ""),
            "plan-something-new": ("maybe", "If we plan it together."),
            A_SECRET_NO: ("no", ""),
            A_SHOWN_NO: ("no", ""),
            "safe-signal": ("maybe", A_CONDITION),
        },
        "partner_b": {"safe-signal": ("no", "")},
    }
    listed = s.playbook.phases[2]
    assert isinstance(listed, MutualRevealSpec)
    items = [i.id for i in listed.items]
    for partner, mine in answers.items():
        replies = [
            {
                "item": i,
                "answer": mine.get(i, ("yes", ""))[0],
                "condition": mine.get(i, ("", ""))[1],
            }
            for i in items
        ]
        s.do(partner, {"type": "mutual.answer", "answers": replies})
        s.do(partner, {"type": "mutual.done"})
    s.do("mediator", {"type": "mutual.reveal"})
    s.do("partner_a", {"type": "mutual.disclose", "item": A_SHOWN_NO})
    s.do("mediator", {"type": "phase.advance"})
    # The comfort scale: A changes one rating; the last one counts.
    s.do("partner_a", {"type": "comfort.rate", "scenario": "say-not-tonight", "value": 1})
    rate(
        s,
        {
            "partner_a": dict.fromkeys(SCENARIOS, 4) | {"say-not-tonight": 5},
            "partner_b": dict.fromkeys(SCENARIOS, 2),
        },
    )
    return s


def follow_up(comfort: dict[str, dict[str, int]], measure: dict[str, int]) -> Session:
    s = core_session("follow-up")
    rate(s, comfort)
    answer_measure(s, measure)
    return s


@pytest.fixture
async def case_id(
    client: httpx.AsyncClient, mediator: Mediator, store: SqliteStore, clock: FakeClock
) -> str:
    """A case with the assessment and two follow-ups, recorded."""
    response = await client.post("/api/cases", json={"name_a": "Sam", "name_b": "Alex"})
    case: dict[str, Any] = response.json()
    runs = [
        ("values-assessment", assessment()),
        (
            "follow-up",
            follow_up(
                {
                    "partner_a": dict.fromkeys(SCENARIOS, 3),
                    "partner_b": dict.fromkeys(SCENARIOS, 2),
                },
                {"partner_a": 0, "partner_b": 4},  # 8 and 20
            ),
        ),
        (
            "follow-up",
            follow_up(
                {
                    "partner_a": dict.fromkeys(SCENARIOS, 2),
                    "partner_b": dict.fromkeys(SCENARIOS, 1),
                },
                {"partner_a": 4, "partner_b": 1},  # 20 and 11
            ),
        ),
    ]
    for playbook, run in runs:
        clock.advance(7 * 86400)
        made = await client.post(f"/api/cases/{case['id']}/sessions", json={"playbook": playbook})
        assert made.status_code == 201, made.text
        await record(store, made.json()["id"], run, clock.now)
    return str(case["id"])


async def report_of(client: httpx.AsyncClient, case_id: str, reader: str = "") -> dict[str, Any]:
    query = f"?for={reader}" if reader else ""
    response = await client.get(f"/api/cases/{case_id}/report{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_mediators_report_tracks_comfort_over_sessions(
    client: httpx.AsyncClient, case_id: str
) -> None:
    report = await report_of(client, case_id)
    assert report["for"] == "mediator"
    assert report["case"]["names"] == {"partner_a": "Sam", "partner_b": "Alex"}
    assert [s["playbook"] for s in report["sessions"]] == [
        "values-assessment",
        "follow-up",
        "follow-up",
    ]
    assert [s["index"] for s in report["sessions"]] == [0, 1, 2]
    comfort = report["comfort"]
    assert comfort["sessions"] == [0, 1, 2]
    assert comfort["scale"][0] == "Fully comfortable" and len(comfort["scale"]) == 5
    by_id = {s["id"]: s for s in comfort["scenarios"]}
    assert list(by_id) == list(SCENARIOS)
    assert by_id["hold-hands-in-public"]["text"] == "Holding hands in public"
    assert by_id["hold-hands-in-public"]["partner_a"] == [4, 3, 2]
    assert by_id["hold-hands-in-public"]["partner_b"] == [2, 2, 1]
    # A rated it 1, then 5 before done: the last rating is the session's.
    assert by_id["say-not-tonight"]["partner_a"] == [5, 3, 2]


async def test_the_mediators_report_has_scores_gap_and_reliable_change(
    client: httpx.AsyncClient, case_id: str
) -> None:
    (measure,) = (await report_of(client, case_id))["measures"]
    assert measure["measure"] == "accord-how-are-we-doing"
    assert measure["title"] == "How are we doing?"
    assert (measure["low"], measure["high"], measure["reliable_change"]) == (0, 28, 5.0)
    assert measure["higher_is_better"] is True
    assert measure["rows"] == [
        {
            "session": 1,
            "partner_a": {"score": 8, "band": "Struggling"},
            "partner_b": {"score": 20, "band": "Doing well"},
            "gap": 12,
        },
        {
            "session": 2,
            "partner_a": {"score": 20, "band": "Doing well"},
            "partner_b": {"score": 11, "band": "Struggling"},
            "gap": 9,
        },
    ]
    assert measure["changes"] == [
        {"seat": "partner_a", "from": 1, "to": 2, "delta": 12, "verdict": "reliable improvement"},
        {
            "seat": "partner_b",
            "from": 1,
            "to": 2,
            "delta": -9,
            "verdict": "reliable deterioration",
        },
    ]


async def test_the_mediators_report_has_the_reveals_and_the_private_answers(
    client: httpx.AsyncClient, case_id: str
) -> None:
    report = await report_of(client, case_id)
    values = report["values"]
    assert values["session"] == 0
    assert values["shared_core"] == [{"id": "connection", "title": "Connection"}]
    splits = {(s["title"], s["core_for"]) for s in values["core_and_not_important"]}
    assert splits == {("Reassurance", "partner_a"), ("Tenderness", "partner_b")}
    assert len(values["negotiable_both"]) == 37
    (listed,) = report["lists"]
    assert (listed["session"], listed["title"]) == (0, "Yes, maybe, no")
    shared = {s["item"]: s for s in listed["shared"]}
    assert A_SECRET_NO not in shared and A_SHOWN_NO not in shared and "safe-signal" not in shared
    assert shared["plan-something-new"]["partner_a"] == {
        "answer": "maybe",
        "condition": "If we plan it together.",
    }
    assert listed["disclosed"] == [
        {
            "seat": "partner_a",
            "item": A_SHOWN_NO,
            "text": "Time for intimacy in the morning rather than at night",
        }
    ]
    private = listed["private"]
    assert private["label"] == PRIVATE == "private: mediator only"
    assert {(n["seat"], n["item"]) for n in private["nos"]} == {
        ("partner_a", A_SECRET_NO),
        ("partner_a", A_SHOWN_NO),
        ("partner_b", "safe-signal"),
    }
    assert [(n["seat"], n["item"]) for n in private["undisclosed_nos"]] == [
        ("partner_a", A_SECRET_NO),
        ("partner_b", "safe-signal"),
    ]
    signal = next(a for a in private["answers"] if a["item"] == "safe-signal")
    assert signal["partner_a"] == {"answer": "maybe", "condition": A_CONDITION}
    assert signal["text"] == "A safe word or signal either of us can use at any time"


async def test_a_partners_report_carries_only_what_that_partner_saw(
    client: httpx.AsyncClient, case_id: str
) -> None:
    mediators = json.dumps(await report_of(client, case_id))
    report = await report_of(client, case_id, "partner_b")
    text = json.dumps(report)
    assert report["for"] == "partner_b"
    # The mediator's report has every marker; B's none of A's private ones.
    for marker in (A_SECRET_NO, A_CONDITION, PRIVATE, '"undisclosed_nos"'):
        assert marker in mediators, marker
        assert marker not in text, marker
    assert A_NOTE not in mediators and A_NOTE not in text  # notes are in no report
    # B's own ratings, none of A's; no score at all (the mediator's only).
    for scenario in report["comfort"]["scenarios"]:
        assert scenario["partner_a"] == [None, None, None], scenario
    hold = next(s for s in report["comfort"]["scenarios"] if s["id"] == "hold-hands-in-public")
    assert hold["partner_b"] == [2, 2, 1]
    assert report["measures"] == []
    # What both were shown: the reveals, and the no A chose to show.
    assert report["values"]["shared_core"] == [{"id": "connection", "title": "Connection"}]
    (listed,) = report["lists"]
    assert "private" not in listed
    assert [d["item"] for d in listed["disclosed"]] == [A_SHOWN_NO]
    # A's report has A's ratings and none of B's.
    a_report = await report_of(client, case_id, "partner_a")
    hold = next(s for s in a_report["comfort"]["scenarios"] if s["id"] == "hold-hands-in-public")
    assert (hold["partner_a"], hold["partner_b"]) == ([4, 3, 2], [None, None, None])
    assert "private" not in a_report["lists"][0]


async def test_an_unknown_reader_is_refused(client: httpx.AsyncClient, case_id: str) -> None:
    response = await client.get(f"/api/cases/{case_id}/report?for=partner_c")
    assert (response.status_code, error_of(response)) == (422, "invalid_request")
    assert "partner_a" in response.json()["error"]["message"]


async def test_an_empty_case_has_an_empty_report(
    client: httpx.AsyncClient, mediator: Mediator
) -> None:
    case = (await client.post("/api/cases", json={"name_a": "Kai", "name_b": "Lou"})).json()
    report = await report_of(client, case["id"])
    assert report["sessions"] == [] and report["measures"] == [] and report["lists"] == []
    assert report["comfort"] == {
        "scale": report["comfort"]["scale"],
        "sessions": [],
        "scenarios": [],
    }
    assert report["values"] is None
