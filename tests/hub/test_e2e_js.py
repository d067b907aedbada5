"""The official JS client (socket.io-client + socket.io-msgpack-parser, under node)
as a seat beside Python seats, against a real server.

tests/js/seat.mjs plays one seat from a JSON script; `npm ci` installs its
dependencies from tests/js/package-lock.json the first time.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

from hubtest import (
    JS_DIR,
    Seats,
    Server,
    count_type,
    logged,
    of_type,
    start_dialogue,
    visible_to,
)


async def js_seat(node: str, job: dict[str, Any]) -> dict[str, Any]:
    """Run seat.mjs with this job; its result."""
    process = await asyncio.create_subprocess_exec(
        node,
        str(JS_DIR / "seat.mjs"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(json.dumps(job).encode()), 30)
    assert process.returncode == 0, err.decode()
    result: dict[str, Any] = json.loads(out)
    assert result["error"] is None, result
    return result


def _assert_in_order(events: list[dict[str, Any]]) -> None:
    """A seat's whole history: its own count, 1, 2, 3 … with no gap."""
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs


async def test_a_js_partner_plays_an_exchange_with_python_seats(
    server: Server, seats: Seats, node: str
) -> None:
    keys = await server.create_session("quick-dialogue")
    m = await seats.open(keys, "mediator")
    b = await seats.open(keys, "partner_b")
    steps: list[dict[str, Any]] = [
        {"wait": {"type": "phase.started"}},
        {"send": {"type": "note", "text": "Can I write notes?"}},
        {"send": {"type": "statement", "text": "I feel alone when you work late."}},
        {"wait": {"type": "paraphrase.offered", "count": 1}},
        {"send": {"type": "paraphrase.correct", "note": "It is about feeling alone."}},
        {"wait": {"type": "paraphrase.offered", "count": 2}},
        {"send": {"type": "paraphrase.confirm"}},
        {"send": {"type": "yield"}},
        {"wait": {"type": "statement.made", "count": 2}},
        {"send": {"type": "paraphrase", "text": "Money worries keep you at work."}},
        {"wait": {"type": "paraphrase.confirmed", "count": 2}},
        {"send": {"type": "timeout.call", "reason": "I am shaking."}},
        {"wait": {"type": "debrief.started"}},
        {"send": {"type": "debrief.answer", "rating": 5, "text": "Better now."}},
        {"wait": {"type": "session.ended"}},
    ]
    js = asyncio.create_task(
        js_seat(node, {"url": server.url, "token": keys.tokens["partner_a"], "steps": steps})
    )
    await start_dialogue(m)
    await m.ok("note", text="A joined from the JS client.")
    await b.until_type("statement.made")
    await b.ok("paraphrase", text="You think I love my job more.")
    await b.until_type("paraphrase.corrected")
    await b.ok("paraphrase", text="You feel alone when I work late.")
    await b.until(lambda events: events[-1]["type"] == "floor.granted")
    await b.ok("statement", text="I work late because I worry about money.")
    await b.until_type("paraphrase.offered", 3)
    await b.ok("paraphrase.confirm")
    await b.until_type("debrief.started", timeout=5)  # the server's timer ends the time-out
    await b.ok("debrief.answer", rating=6, text="I need a hug.")
    await m.until_type("debrief.completed")
    await m.ok("session.end", reason="Time is up for today.")
    result = await js

    record = m.events
    m.check()
    assert result["connect_error"] is None
    assert result["join"]["ok"] is True and result["join"]["epoch"] == m.epoch
    assert result["snapshots"][0]["seat"] == "partner_a"
    events = result["events"]
    _assert_in_order(events)
    assert events == visible_to("partner_a", record)
    assert "timeout.reason" not in [e["type"] for e in events]  # its own reason, mediator only
    assert "note.added" not in [e["type"] for e in events]
    assert {e["seat"] for e in of_type(events, "debrief.answered")} == {"partner_a"}
    assert count_type(record, "timeout.reason") == 1

    acks = result["acks"]
    assert acks[0]["ack"]["ok"] is False
    assert acks[0]["ack"]["error"]["code"] == "forbidden_for_seat"
    assert all(a["ack"]["ok"] for a in acks[1:]), acks
    for ack in acks[1:]:
        assert logged(record, "partner_a", ack["ack"]["seq"])["actor"] == "partner_a", ack
    # Each ack came after its command's events: the JS seat had seen what it may see of them.
    for ack in acks[1:]:
        mine = [e["seq"] for e in events if e["seq"] <= ack["ack"]["seq"]]
        assert ack["seen"] >= mine[-1], ack
    assert [p["status"] for p in m.presence if p["seat"] == "partner_a"][:1] == ["joined"]


async def test_a_js_seat_is_refused_with_data_and_resumes_with_last_seq(
    server: Server, seats: Seats, node: str
) -> None:
    refused = await js_seat(node, {"url": server.url, "token": "not-a-token"})
    assert refused["connect_error"]["code"] == "token_invalid"
    assert isinstance(refused["connect_error"]["message"], str)
    missing = await js_seat(node, {"url": server.url, "token": None})
    assert missing["connect_error"]["code"] == "token_missing"

    keys = await server.create_session("quick-dialogue")
    m = await seats.open(keys, "mediator")
    head = await start_dialogue(m)
    await m.ok("note", text="Private.")
    await m.ok("timeout.start", minutes=1)
    job = {
        "url": server.url,
        "token": keys.tokens["partner_b"],
        "join": {"last_seq": head - 1, "epoch": m.epoch},
    }
    resumed = await js_seat(node, job)
    assert resumed["snapshots"][0]["reset"] is False
    assert resumed["events"] == [e for e in visible_to("partner_b", m.events) if e["seq"] >= head]
    assert [e["type"] for e in resumed["events"]] == ["phase.started", "timeout.started"]
