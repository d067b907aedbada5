"""A hostile client over the wire (issue 9): every edge of a connection's life.

The client is tests/hub/rawclient.py: websockets' sans-I/O protocol on a plain
socket, so it can send what no library client sends (reserved event names, a
second handshake, frames that are not packets) and can stop reading. The
server is a real `accord serve`; the partners and the mediator beside it are
the Python seats of the other hub tests.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import msgpack
import pytest
from hubtest import WAIT_S, Api, Seat, Seats, Server, start_dialogue
from rawclient import Closed, RawClient

from accord.core.codec import encode_event
from accord.core.events import MEDIATOR_ONLY, NoteAdded, TimeOutSignalled
from accord.store.base import NewRecord, audience_mask
from accord.store.sqlite import SqliteStore

#: What one connection of each kind of junk may add to the server's log.
LOG_BOUND_BYTES = 16 * 1024
#: How far above idle the server may grow under a client that never reads.
RSS_BOUND_MB = 50


def joined(server: Server, token: str, **kwargs: object) -> RawClient:
    client = RawClient(server.url, **kwargs).open()  # type: ignore[arg-type]
    assert client.connect(token)["type"] == 0
    ack = client.call("join", {})
    assert ack["ok"], ack
    return client


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_connect_and_disconnect_events_are_refused_and_change_nothing(
    server: Server, seats: Seats, api: Api
) -> None:
    keys = await server.create_session()
    m = await seats.open(keys, "mediator")
    other = await api.invite(keys.id, "partner_b")
    hostile = joined(server, keys.tokens["partner_a"])
    # The handshake again, with another valid invite: once, this swapped the
    # socket's record, so that revoking the first invite no longer found it.
    answer = hostile.call("connect", {"token": other["token"]})
    assert answer["ok"] is False and answer["error"]["code"] == "reserved_event"
    answer = hostile.call("disconnect", "client namespace disconnect")
    assert answer["error"]["code"] == "reserved_event"
    assert hostile.call("*", {})["error"]["code"] == "reserved_event"
    # The connection is still the one it was, and still usable.
    assert hostile.call("command", {"cid": "c1", "type": "floor.request"})["error"]["code"]
    await asyncio.sleep(0.3)
    assert [p["status"] for p in m.presence if p["seat"] == "partner_a"] == ["joined"]
    # Revoking the invite it connected with ends it within a second.
    started = time.monotonic()
    await api.revoke(keys.id, keys.invites["partner_a"])
    disconnect = hostile.wait_for(lambda p: p.get("type") == 1, timeout=WAIT_S)
    assert disconnect == {"type": 1, "nsp": "/"}
    assert time.monotonic() - started < 1.0
    assert [n["code"] for n in hostile.events("notice")] == ["token_revoked"]
    hostile.close()
    log = server.log()
    assert log.count("reserved event name 'connect'") == 1, "logged once per connection"


@pytest.mark.parametrize("server_env", [{"ACCORD_INVITE_TTL_S": "3"}])
async def test_an_invite_that_expires_ends_its_open_socket_within_a_second(
    server: Server,
) -> None:
    keys = await server.create_session()  # its invites expire in 3 s
    hostile = joined(server, keys.tokens["partner_b"])
    hostile.call("connect", {"token": keys.tokens["partner_a"]})  # tries to swap, in vain
    notice = hostile.wait_for(
        lambda p: p.get("type") == 2 and p["data"][0] == "notice", timeout=WAIT_S
    )
    assert notice["data"][1]["code"] == "token_expired"
    hostile.wait_for(lambda p: p.get("type") == 1, timeout=1.0)
    hostile.close()
    # And the expired token cannot come back.
    again = RawClient(server.url).open()
    refusal = again.connect(keys.tokens["partner_b"])
    assert refusal["type"] == 4 and refusal["data"]["data"]["code"] == "token_expired"
    again.close()


async def test_a_seats_rate_limit_survives_its_reconnects(server: Server, seats: Seats) -> None:
    keys = await server.create_session()
    m = await seats.open(keys, "mediator")
    await start_dialogue(m)
    first = joined(server, keys.tokens["partner_b"])
    for i in range(100):  # partner_b is the listener: every one is refused anyway
        first.emit("command", {"cid": f"a{i}", "type": "yield"})
    acks = [
        first.wait_for(lambda p, i=i: p.get("type") == 3 and p.get("id") == i + 2)
        for i in range(100)
    ]
    limited = sum(1 for a in acks if a["data"][0]["error"]["code"] == "rate_limited")
    assert limited >= 50
    first.close()
    # A new connection of the same seat gets no fresh budget: even its
    # handshake waits its turn.
    second = RawClient(server.url).open()
    deadline = time.monotonic() + WAIT_S
    while (answer := second.connect(keys.tokens["partner_b"]))["type"] != 0:
        assert answer["data"]["data"]["code"] == "rate_limited"
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    for i in range(30):
        second.emit("command", {"cid": f"b{i}", "type": "yield"})
    codes = [
        second.wait_for(lambda p, i=i: p.get("type") == 3 and p.get("id") == i + 1)["data"][0]
        for i in range(30)
    ]
    # not joined yet: these are answered before the rate check; so join first
    assert all(c["error"]["code"] == "not_joined" for c in codes)
    deadline = time.monotonic() + WAIT_S
    while not (ack := second.call("join", {}))["ok"] and time.monotonic() < deadline:
        assert ack["error"]["code"] == "rate_limited"
        await asyncio.sleep(0.05)
    base = second._next_id
    for i in range(30):
        second.emit("command", {"cid": f"c{i}", "type": "yield"})
    answers = [
        second.wait_for(lambda p, i=i: p.get("type") == 3 and p.get("id") == base + i + 1)
        for i in range(30)
    ]
    limited = sum(1 for a in answers if a["data"][0]["error"]["code"] == "rate_limited")
    assert limited >= 20, "a fresh connection would have had a burst of 40"
    second.close()


async def test_the_safe_signal_is_paced_once_the_session_ended(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session()
    m = await seats.open(keys, "mediator")
    await start_dialogue(m)
    hostile = joined(server, keys.tokens["partner_a"])
    live = [hostile.call("command", {"cid": f"t{i}", "type": "timeout.call"}) for i in range(60)]
    assert all(a["ok"] for a in live), "never limited while the session is live"
    await m.ok("session.end", reason="The hour is over.")
    for i in range(80):
        hostile.emit("command", {"cid": f"e{i}", "type": "timeout.call"})
    base = 60 + 1  # the join, then 60 calls
    codes = [
        hostile.wait_for(lambda p, i=i: p.get("type") == 3 and p.get("id") == base + i + 1)["data"][
            0
        ]["error"]["code"]
        for i in range(80)
    ]
    assert "rate_limited" in codes and set(codes) == {"rate_limited", "session_ended"}
    hostile.close()


async def test_bad_frames_are_answered_logged_once_and_leave_the_connection_usable(
    server: Server,
) -> None:
    keys = await server.create_session()
    client = joined(server, keys.tokens["mediator"])
    before = len(server.log())
    junk_with_ids = [
        {"type": 2, "nsp": "/", "data": [], "id": 1000},
        {"type": 2, "nsp": "/", "data": [{}], "id": 1001},
        {"type": 2, "nsp": "/", "data": ["no-such-event", {}], "id": 1002},
        {"type": 4, "nsp": "/", "data": "x", "id": 1003},
        {"type": 2, "nsp": "/", "data": ["command", {"cid": "x", "type": "note"}, 7], "id": 1004},
        {"type": 2, "nsp": "/", "data": ["join", {}, "extra"], "id": 1005},
    ]
    for _ in range(200):
        for packet in junk_with_ids:
            client.send_packet(packet)
        client.send_text("x")
        client.send_text("")
        client.send_binary(b"\xc1")
        client.send_binary(b"")
    answers = {
        packet["id"]: client.wait_for(lambda p, i=packet["id"]: p.get("id") == i)["data"][0]
        for packet in junk_with_ids
    }
    assert {i: a["error"]["code"] for i, a in answers.items()} == {
        1000: "invalid_command",
        1001: "invalid_command",
        1002: "unknown_event",
        1003: "invalid_command",
        1004: "invalid_command",
        1005: "invalid_command",
    }
    assert client.call("command", {"cid": "ok-1", "type": "note", "text": "still here"})["ok"]
    client.close()
    await asyncio.sleep(0.2)
    grown = server.log()[before:]
    assert "Traceback" not in grown
    assert len(grown.encode()) < LOG_BOUND_BYTES, grown
    assert grown.count("malformed frame (event without a name)") == 1


async def test_ten_thousand_unauthenticated_bad_frames_leave_the_log_small(
    server: Server,
) -> None:
    before = len(server.log())
    frames: list[bytes | str] = [
        "x",
        "",
        "4",
        "40",
        b"",
        b"\xc1",
        msgpack.packb({"type": 5, "nsp": "/", "data": []}),
        msgpack.packb({"type": 2, "nsp": "/", "data": ["join", {}], "id": 1}),
        msgpack.packb({"type": 0, "nsp": "/", "data": {"token": "forged"}}),
        msgpack.packb({"type": 0, "nsp": "/x"}),
    ]
    for _ in range(10):
        client = RawClient(server.url).open()
        for i in range(1000):
            frame = frames[i % len(frames)]
            if isinstance(frame, str):
                client.send_text(frame)
            else:
                client.send_binary(frame)
        client.close()
    await asyncio.sleep(0.5)
    grown = server.log()[before:]
    assert "Traceback" not in grown
    assert len(grown.encode()) < LOG_BOUND_BYTES, f"{len(grown)} bytes:\n{grown[:3000]}"


@pytest.mark.parametrize("server_env", [{"ACCORD_HANDSHAKE_TIMEOUT_S": "1"}])
async def test_a_socket_that_never_authenticates_is_closed_at_the_deadline(
    server: Server,
) -> None:
    silent = RawClient(server.url).open()
    started = time.monotonic()
    assert silent.read_until_closed(WAIT_S)
    assert 0.8 < time.monotonic() - started < 3.0
    silent.close()
    # Refused handshakes: after three, the socket is closed.
    stubborn = RawClient(server.url).open()
    for _ in range(3):
        assert stubborn.connect("not-a-token")["type"] == 4
    assert stubborn.read_until_closed(WAIT_S)
    stubborn.close()


@pytest.mark.parametrize(
    "server_env",
    [{"ACCORD_MAX_UNAUTHENTICATED_PER_ADDRESS": "5", "ACCORD_MAX_SOCKETS_PER_ADDRESS": "8"}],
)
async def test_sockets_per_address_are_capped(server: Server) -> None:
    keys = await server.create_session()
    waiting = [RawClient(server.url).open() for _ in range(5)]
    with pytest.raises(Closed):
        RawClient(server.url).open()  # a sixth that has not authenticated yet
    # Authenticating frees a place among the waiting; the cap on all the
    # websockets of one address still holds.
    assert waiting[0].connect(keys.tokens["mediator"])["type"] == 0
    more = []
    for seat in ("partner_a", "partner_b"):
        client = RawClient(server.url).open()
        assert client.connect(keys.tokens[seat])["type"] == 0
        more.append(client)
    more.append(RawClient(server.url).open())  # the 8th websocket, waiting
    with pytest.raises(Closed):
        RawClient(server.url).open()  # a ninth from the same address
    for client in waiting + more:
        client.close()
    await asyncio.sleep(0.3)
    RawClient(server.url).open().close()  # closed ones make room again


@pytest.mark.parametrize("server_env", [{"ACCORD_MAX_CONNECTIONS_PER_SEAT": "2"}])
async def test_connections_per_seat_are_capped(server: Server) -> None:
    keys = await server.create_session()
    token = keys.tokens["partner_a"]
    first, second = RawClient(server.url).open(), RawClient(server.url).open()
    assert first.connect(token)["type"] == 0
    assert second.connect(token)["type"] == 0
    third = RawClient(server.url).open()
    refusal = third.connect(token)
    assert refusal["type"] == 4 and refusal["data"]["data"]["code"] == "too_many_connections"
    for client in (first, second, third):
        client.close()


async def test_joining_again_on_a_joined_connection_sends_only_what_is_new(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session()
    m = await seats.open(keys, "mediator")
    for i in range(5):
        await m.ok("note", text=f"Note {i}.")
    client = joined(server, keys.tokens["mediator"])
    history = [e for batch in client.events("events") for e in batch["events"]]
    assert len(history) == 5
    again = client.call("join", {"last_seq": 0, "epoch": "forged"})
    assert again["ok"] and again["seq"] == 5
    batches = client.events("events")
    assert batches[-1]["events"] == []
    assert client.events("snapshot")[-1]["reset"] is False
    client.close()


@pytest.mark.parametrize("server_env", [{"ACCORD_STALL_TIMEOUT_S": "2"}])
async def test_a_client_that_never_reads_is_cut_off_and_memory_stays_bounded(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session()
    # A long record (8 MB of notes: more than the kernel's socket buffers hold),
    # written before anyone loads the session.
    store = await SqliteStore.open(server.data_dir / "accord.sqlite3")
    try:
        head = 0
        for _ in range(27):
            batch = [
                NewRecord(
                    1_764_100_000.0,
                    "mediator",
                    audience_mask(MEDIATOR_ONLY),
                    encode_event(NoteAdded(text="n" * 3000, audience=MEDIATOR_ONLY)),
                )
                for _ in range(100)
            ]
            head = await store.append(keys.id, head, batch)
    finally:
        await store.close()
    assert server.process is not None
    pid = server.process.pid
    # A careful reader reads it all, once: the baseline.
    reader = await seats.open(keys, "mediator")
    assert len(reader.events) == 2700
    await reader.close()
    await asyncio.sleep(0.5)
    idle = peak = rss_kib(pid)
    token = keys.tokens["mediator"]

    def spam(client: RawClient) -> None:
        try:
            for _ in range(2):
                client.emit("join", {})  # about 18 a second, and never a read
            client.emit("command", {"cid": f"n{time.monotonic()}", "type": "note", "text": "x"})
        except OSError:
            pass  # the server closed it

    # One connection that joins and never reads (a tiny receive window): the
    # history streams a batch at a time while it is taken (into the kernel's
    # buffers, up to a few MB), then waits; the connection is cut off when it
    # took nothing for the stall timeout (2 s here).
    client = RawClient(server.url, rcvbuf=4096).open()
    assert client.connect(token)["type"] == 0
    deadline = time.monotonic() + 10.0
    while await server.metric("accord_slow_consumers_total") < 1:
        assert time.monotonic() < deadline, "never cut off"
        spam(client)
        peak = max(peak, rss_kib(pid))
        await asyncio.sleep(0.1)
    client.close()
    # Then a new connection every 0.3 s, each taking the seat from the last,
    # none of them reading.
    hostile: list[RawClient] = []
    for _ in range(15):
        client = RawClient(server.url, rcvbuf=4096).open()
        if client.connect(token)["type"] == 0:
            hostile.append(client)
        else:
            client.close()  # refused (the seat's budget): it tries again next round
        for _ in range(3):
            for each in hostile:
                spam(each)
            peak = max(peak, rss_kib(pid))
            await asyncio.sleep(0.1)
    await asyncio.sleep(3.0)
    peak = max(peak, rss_kib(pid))
    for client in hostile:
        client.close()
    grown_mb = (peak - idle) / 1024
    assert grown_mb < RSS_BOUND_MB, f"RSS grew {grown_mb:.1f} MB above idle"
    # The server still serves: a careful reader gets everything.
    fresh = await seats.open(keys, "mediator")
    assert len([e for e in fresh.events if e["type"] == "note.added"]) >= 2700
    print(f"RSS: idle {idle / 1024:.1f} MB, peak {peak / 1024:.1f} MB (+{grown_mb:.1f} MB)")


@pytest.mark.parametrize("server_env", [{"ACCORD_HANDSHAKE_TIMEOUT_S": "1"}])
async def test_sockets_that_never_read_free_what_they_held(server: Server) -> None:
    # Anonymous sockets that never read, each asking for a namespace with a
    # huge name: the answer once echoed the name (a megabyte each, held by a
    # writer that could never finish). Now the frame is refused unanswered,
    # the handshake deadline closes them, and their place is free again.
    assert server.process is not None
    pid = server.process.pid
    idle = peak = rss_kib(pid)
    clients = [RawClient(server.url, rcvbuf=4096).open() for _ in range(20)]
    for client in clients:
        for _ in range(9):
            client.send_packet({"type": 0, "nsp": "/" + "x" * 950_000})
    deadline = time.monotonic() + 6.0
    while time.monotonic() < deadline:
        peak = max(peak, rss_kib(pid))
        await asyncio.sleep(0.2)
    for client in clients:
        client.close()
    grown_mb = (peak - idle) / 1024
    assert grown_mb < RSS_BOUND_MB, f"RSS grew {grown_mb:.1f} MB"
    # The 20 waiting sockets were closed at the deadline: 20 more may open.
    more = [RawClient(server.url).open() for _ in range(20)]
    for client in more:
        client.close()


async def test_handshakes_on_one_socket_are_bounded(server: Server) -> None:
    keys = await server.create_session()
    before = len(server.log())
    client = RawClient(server.url).open()
    answers = []
    for _ in range(15):
        try:
            answers.append(client.connect(keys.tokens["partner_a"])["type"])
            client.send_packet({"type": 1, "nsp": "/"})  # and leave again
        except (Closed, OSError):
            break
    assert answers[:10] == [0] * 10, answers
    assert 4 in answers[10:], "the eleventh is refused"
    assert client.read_until_closed(WAIT_S), "then the socket is closed"
    client.close()
    grown = server.log()[before:]
    assert len(grown.splitlines()) < 10, grown


async def test_http_junk_at_the_socket_endpoint_logs_no_error(server: Server) -> None:
    before = len(server.log())
    async with aiohttp.ClientSession() as http:
        for query in (
            "EIO=3&transport=websocket",
            "EIO=4&transport=carrier-pigeon",
            "EIO=4&transport=polling",
            "EIO=4&transport=polling&sid=nope",
            "EIO=4&transport=websocket&sid=nope",
            "",
        ):
            for method in ("GET", "POST", "PUT"):
                async with http.request(method, f"{server.url}/socket.io/?{query}") as r:
                    assert r.status >= 400, (method, query, r.status)
        async with http.get(
            f"{server.url}/socket.io/?EIO=4&transport=websocket",
            headers={"Origin": "https://evil.example"},
        ) as r:
            assert r.status >= 400
    grown = server.log()[before:]
    assert " ERROR " not in grown and "Traceback" not in grown, grown


async def throttled_proxy(target_port: int, bytes_per_s: int) -> tuple[asyncio.Server, int]:
    """A TCP proxy whose server-to-client direction runs at `bytes_per_s`: a slow link."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rate: int) -> None:
        try:
            while chunk := await reader.read(4096 if rate else 65536):
                writer.write(chunk)
                await writer.drain()
                if rate:
                    await asyncio.sleep(len(chunk) / rate)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(client_r, server_w, 0), pipe(server_r, client_w, bytes_per_s))

    proxy = await asyncio.start_server(handle, "127.0.0.1", 0)
    return proxy, proxy.sockets[0].getsockname()[1]


async def test_a_slow_link_gets_its_history_and_its_safe_signal_goes_through(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session()
    # A history of about 240 KB that partner_a may see (signals of a time-out
    # are valid in any state, and cheap to write here).
    store = await SqliteStore.open(server.data_dir / "accord.sqlite3")
    try:
        head = 0
        for _ in range(8):
            batch = [
                NewRecord(
                    1_764_100_000.0,
                    "partner_b",
                    audience_mask(("mediator", "partner_a", "partner_b")),
                    encode_event(TimeOutSignalled(by="partner_b")),
                )
                for _ in range(600)
            ]
            head = await store.append(keys.id, head, batch)
    finally:
        await store.close()
    proxy, port = await throttled_proxy(server.port, 40_000)  # 40 KB/s: a poor mobile link
    try:
        slow = Seat(f"http://127.0.0.1:{port}", keys.tokens["partner_a"], "partner_a")
        seats.opened.append(slow)
        await slow.connect()
        assert slow.client is not None
        started = time.monotonic()
        join = asyncio.ensure_future(slow.client.call("join", {}, timeout=60))
        await asyncio.sleep(1.0)  # the history is on its way
        signal = await slow.client.call(
            "command", {"cid": "safe-1", "type": "timeout.call"}, timeout=60
        )
        ack = await join
        took = time.monotonic() - started
        assert ack["ok"], ack
        # The safe signal was taken while the history streamed, and its ack came
        # after everything before it, its own event included.
        assert signal["ok"] is True, signal
        await slow.until(lambda events: any(e["type"] == "timeout.started" for e in events))
        slow.check()
        assert len(slow.events) == head + 1
        assert slow.events[-1]["type"] == "timeout.started"
        assert await server.metric("accord_slow_consumers_total") == 0
        assert took > 3.0, f"the link was not slow ({took:.1f} s)"
    finally:
        proxy.close()
        await proxy.wait_closed()
