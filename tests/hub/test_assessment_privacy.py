"""The assessment's privacy rules over the wire (issue 11; DESIGN.md invariant 9).

Three real seats play protocols/values-assessment.toml on a real server
(lobby → values cards → yes / maybe / no list → comfort scale → closing
debrief). Each partner writes private things carrying markers of its own
(an own values card, notes, maybe conditions, a no never shown, a no shown
later, ratings, a debrief answer). Every Socket.IO packet a partner receives
is kept as it came off the wire (`Wire`): snapshots, events batches with
their states, acks, presence and notices, over every connection it had.
Then each packet is scanned, decoded and as raw bytes, for the other
partner's private facts, against the moment it tells of:

- nothing of the other's sort before the values reveal (no sort, move, own
  card or note event, no other entry in the state's `sorts`, not the other's
  own card id), and the other's notes never, also after the reveal;
- nothing of the other's answers before the list reveal; after it, only the
  items neither said no to; a no the other never showed, never (its id and
  text appear in the playbook only); a no the other showed, only from its
  `mutual.disclosed` on; a condition on an item that is not shared, never;
- the other's ratings, debrief answer and "done", never (the playbook shows
  neither);
- seqs 1..n, the same events on resume, a fresh join and a reset as live.

A twin session holds the public course but for partner_a's private extras
(moves, notes, an own card, changed answers and conditions, extra ratings,
refused commands; and partner_a's private writing early, where the twin
writes only the minimum just before each reveal): partner_b's packets, seqs,
states, `may`, hints, prompts and refusals are the same in both. The mediator
sees everything.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgpack
from hubtest import REPO_PROTOCOLS, SEATS, Api, Seat, Seats, Server, SessionKeys, visible_to

from accord.core.phases.values_deck import ACCORD_DECK

A, B, M = "partner_a", "partner_b", "mediator"
PLAYBOOK = tomllib.loads((REPO_PROTOCOLS / "values-assessment.toml").read_text(encoding="utf-8"))
KINDS = [p["type"] for p in PLAYBOOK["phases"]]
assert KINDS == ["lobby", "values_sort", "mutual_reveal", "comfort_scale", "debrief"], KINDS
VALUES, LIST = KINDS.index("values_sort"), KINDS.index("mutual_reveal")
# The playbook shows neither partner that the other is done, nor shares ratings.
assert not PLAYBOOK["phases"][VALUES]["show_partner_done"]
assert not PLAYBOOK["phases"][LIST]["show_partner_done"]
assert not PLAYBOOK["phases"][3].get("share", False)
ITEMS: dict[str, str] = {i["id"]: i["text"] for i in PLAYBOOK["phases"][LIST]["items"]}
SCENARIOS = [s["id"] for s in PLAYBOOK["phases"][3]["scenarios"]]
DECK = [card_id for card_id, _, _ in ACCORD_DECK]
PLACES = ("core", "negotiable", "not_important")

# The yes / maybe / no list: what each partner answers in the end.
X, Y, Z, W, V, U = list(ITEMS)[:6]
REST = list(ITEMS)[6:]


@dataclass(frozen=True)
class Private:
    """What one partner writes privately, each marked so a scan can find it."""

    seat: str
    own_card: str  # an own values card: shown by the values reveal (`own`)
    own_text: str
    note: str  # values notes: never to the other partner
    cond: str  # a maybe's condition on a shared item: shown by the list reveal
    cond_old: str  # the same maybe's first condition, replaced: never
    cond_hidden: str  # a maybe's condition on an item the other said no to: never
    debrief: str  # the closing debrief's text: never
    undisclosed: str  # an item answered no and never shown
    disclosed: str  # an item answered no and shown later (`mutual.disclose`)
    places: dict[str, str]  # the deck's cards as finally sorted
    answers: dict[str, tuple[str, str]]  # item → (answer, condition), final
    ratings: dict[str, int]  # comfort ratings, final

    @property
    def never(self) -> tuple[str, ...]:
        return (self.note, self.cond_old, self.cond_hidden, self.debrief)

    @property
    def markers(self) -> tuple[str, ...]:
        return (self.own_card, self.own_text, self.cond, *self.never)

    def reply(self, item: str, answer: tuple[str, str] | None = None) -> dict[str, str]:
        choice, condition = answer or self.answers[item]
        return {"item": item, "answer": choice, **({"condition": condition} if condition else {})}


def _private(
    seat: str, shift: int, answers: dict[str, tuple[str, str]], undisclosed: str, disclosed: str
) -> Private:
    """A partner's private writing, its markers named after it ("«A-note»").
    `answers` names the items not answered a plain yes: (answer, the marker
    of its condition or "")."""
    mark = f"«{seat[-1].upper()}-{{}}»".format
    conditions = {"": "", "cond": mark("cond"), "cond_hidden": mark("cond-hidden")}
    return Private(
        seat=seat,
        own_card=mark("own-card"),
        own_text=mark("own-text"),
        note=mark("note"),
        cond=mark("cond"),
        cond_old=mark("cond-old"),
        cond_hidden=mark("cond-hidden"),
        debrief=mark("debrief"),
        undisclosed=undisclosed,
        disclosed=disclosed,
        # Partners with different shifts place every other card alike: some overlap.
        places={card: PLACES[(i + shift * (i % 2)) % 3] for i, card in enumerate(DECK)},
        answers={
            **dict.fromkeys(ITEMS, ("yes", "")),
            **{item: (choice, conditions[c]) for item, (choice, c) in answers.items()},
        },
        ratings={s: 1 + (i + shift) % 5 for i, s in enumerate(SCENARIOS)},
    )


# partner_a: no to X (never shown) and Y (shown later), a maybe with a
# condition to Z (shared: partner_b says yes) and to W (partner_b says no).
PA = _private(
    A,
    0,
    {X: ("no", ""), Y: ("no", ""), Z: ("maybe", "cond"), W: ("maybe", "cond_hidden")},
    undisclosed=X,
    disclosed=Y,
)
# partner_b the other way round: no to W (never shown) and V (shown later), a
# maybe to U (shared) and to Y (partner_a says no, and shows it later).
PB = _private(
    B,
    1,
    {W: ("no", ""), V: ("no", ""), U: ("maybe", "cond"), Y: ("maybe", "cond_hidden")},
    undisclosed=W,
    disclosed=V,
)
SHARED = [i for i in ITEMS if "no" not in (PA.answers[i][0], PB.answers[i][0])]
assert SHARED[:2] == [Z, U] and SHARED[2:] == REST
#: partner_a's answer to W in the twin: a plain yes. W is not shared either way
#: (partner_b says no), so partner_b may not be able to tell.
QUIET_W = ("yes", "")
PRIVATE_TYPES = {
    "values.sorted",
    "values.moved",
    "values.added",
    "values.noted",
    "values.done",
    "mutual.answered",
    "mutual.finished",
    "comfort.rated",
    "comfort.finished",
    "debrief.answered",
    "measure.submitted",
}
MEDIATOR_ONLY_TYPES = {"mutual.locked", "note.added", "timeout.reason", "measure.scored"}


# -- a seat that keeps every packet ----------------------------------------------------------


class Wire(Seat):
    """A hubtest Seat (which checks seqs, epochs and audiences as events come)
    that also keeps the bytes of every Socket.IO packet it receives, one list
    per connection, in `streams` (shared by all the connections of one seat
    in one session, in the order they were opened). Recording starts right
    after the Socket.IO handshake: the server sends a connection nothing
    before its `join` (each stream must begin with the snapshot)."""

    def __init__(self, url: str, token: str, seat: str, streams: list[list[bytes]]) -> None:
        super().__init__(url, token, seat)
        self.streams = streams

    async def _connect_once(self) -> None:
        await super()._connect_once()
        assert self.client is not None
        stream: list[bytes] = []
        self.streams.append(stream)
        inner = self.client.eio.handlers["message"]

        async def record(data: Any) -> None:
            assert isinstance(data, bytes), f"a text Socket.IO packet: {data!r}"
            stream.append(data)
            await inner(data)

        self.client.eio.on("message", record)


def packets(stream: list[bytes]) -> list[dict[str, Any]]:
    return [msgpack.unpackb(raw, strict_map_key=False) for raw in stream]


def named(packet: dict[str, Any]) -> tuple[str, Any]:
    """An EVENT packet's name and payload; ("ack", …) for an ACK, ("type N", …)
    for any other packet."""
    if packet["type"] == 3:
        return "ack", packet["data"][0]
    if packet["type"] != 2:
        return f"type {packet['type']}", packet.get("data")
    name, payload = packet["data"]
    return name, payload


def limited(packet: dict[str, Any]) -> bool:
    """A join or command refused `rate_limited` (hubtest's Seat retries it with
    the same cid): when it happens depends on the clock, not on the session."""
    name, payload = named(packet)
    return name == "ack" and payload.get("error", {}).get("code") == "rate_limited"


def strings(value: Any) -> Iterator[str]:
    """Every string in a decoded payload, map keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)


# -- the scan of one partner's packets ------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """What a payload may tell of the other partner: after which reveals it is."""

    values: bool = False  # the values cards are revealed
    listed: bool = False  # the list is revealed
    disclosed: bool = False  # the other partner showed its `disclosed` no

    def __or__(self, other: Moment) -> Moment:
        return Moment(
            self.values or other.values,
            self.listed or other.listed,
            self.disclosed or other.disclosed,
        )


@dataclass
class Scan:
    """Scans every packet `me` received for `them`'s private facts."""

    me: Private
    them: Private
    problems: list[str] = field(default_factory=list)
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    reveals: dict[str, int] = field(default_factory=dict)

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{self.me.seat} {where}: {what}")

    # -- the moments

    def collect(self, streams: list[list[bytes]]) -> None:
        """Every event received, by seq: each copy (live, resumed, fresh) the same;
        and the seqs at which each reveal came."""
        for n, stream in enumerate(streams):
            decoded = [p for p in packets(stream) if not limited(p)]
            if not decoded or named(decoded[0])[0] != "snapshot":
                self.fail(f"connection {n}", f"its first packet is not the snapshot: {decoded[:2]}")
            for packet in decoded:
                name, payload = named(packet)
                if name != "events":
                    continue
                for e in payload["events"]:
                    known = self.events.setdefault(e["seq"], e)
                    if known != e:
                        self.fail(f"seq {e['seq']}", f"two versions: {known} and {e}")
        for seq, e in sorted(self.events.items()):
            if e["type"] == "values.revealed":
                self.reveals.setdefault("values", seq)
            elif e["type"] == "mutual.revealed":
                self.reveals.setdefault("listed", seq)
            elif e["type"] == "mutual.disclosed" and e["seat"] == self.them.seat:
                self.reveals.setdefault("disclosed", seq)

    def of_event(self, event: dict[str, Any]) -> Moment:
        seq, never = event["seq"], float("inf")
        return Moment(
            seq >= self.reveals.get("values", never),
            seq >= self.reveals.get("listed", never),
            seq >= self.reveals.get("disclosed", never),
        )

    def of_state(self, state: dict[str, Any]) -> Moment:
        index, phase = state["index"], state["phase"]
        kind = phase.get("kind")
        shown = {"seat": self.them.seat, "item": self.them.disclosed}
        return Moment(
            index > VALUES or (kind == "values_sort" and phase.get("revealed") is not None),
            index > LIST or (kind == "mutual_reveal" and bool(phase.get("revealed"))),
            index > LIST or (kind == "mutual_reveal" and shown in phase.get("disclosed", [])),
        )

    # -- the packets

    def stream(self, n: int, stream: list[bytes]) -> None:
        head = 0  # the seat's seq as of the latest packet: its state is as of it
        for k, (raw, packet) in enumerate(zip(stream, packets(stream), strict=True)):
            where = f"connection {n} packet {k}"
            moment = self.packet(where, packet)
            self.raw(where, raw, moment, ack=packet["type"] == 3)
            name, payload = named(packet)
            if name == "snapshot":
                head = payload["seq"]
            elif name == "events":
                head = max([head, *(e["seq"] for e in payload["events"])])
            else:
                continue
            # A state tells of no reveal its events have not brought (nor lags behind one).
            state = payload["state"]
            if self.of_state(state) != self.of_event({"seq": head}):
                self.fail(where, f"a state {self.of_state(state)} as of seq {head}: {state}")

    def packet(self, where: str, packet: dict[str, Any]) -> Moment:
        """Checks one decoded packet; the latest moment it tells of."""
        if packet["type"] not in (2, 3):
            self.fail(where, f"an unexpected packet {packet}")
            self.scan(where, packet, Moment())
            return Moment()
        name, payload = named(packet)
        if name == "snapshot":
            if "refusals" in payload:
                self.fail(where, "a partner's snapshot carries the refusal counts")
            state = payload["state"]
            rest = {k: v for k, v in payload.items() if k != "state"}
            self.scan(f"{where} snapshot", rest, Moment())
            moment = self.of_state(state)
            self.state(f"{where} snapshot state", state, moment)
            return moment
        if name == "events":
            moment = self.of_state(payload["state"])
            for e in payload["events"]:
                at = self.of_event(e)
                self.event(f"{where} seq {e['seq']} {e['type']}", e, at)
                moment |= at
            self.state(f"{where} state", payload["state"], self.of_state(payload["state"]))
            return moment
        if name == "refused":
            self.fail(where, f"a partner got the mediator's `refused`: {payload}")
        elif name not in ("ack", "presence", "notice"):
            self.fail(where, f"an unknown event {name!r}")
        self.scan(f"{where} {name}", payload, Moment())
        return Moment()

    def event(self, where: str, e: dict[str, Any], moment: Moment) -> None:
        me, them = self.me.seat, self.them.seat
        kind = e["type"]
        if me not in e["audience"]:
            self.fail(where, f"not in its audience {e['audience']}")
        if kind in MEDIATOR_ONLY_TYPES:
            self.fail(where, "a mediator-only event")
        if kind in PRIVATE_TYPES and (e.get("seat") != me or set(e["audience"]) != {M, me}):
            self.fail(where, f"the other's private event: {e}")
        if kind == "phase.started":
            self.phase(where, e["phase"], moment, start=True)
        if kind == "mutual.revealed" and [s["item"] for s in e["shared"]] != SHARED:
            self.fail(where, f"shares {[s['item'] for s in e['shared']]}, not {SHARED}")
        if kind == "mutual.disclosed" and e["seat"] == them and e["item"] != self.them.disclosed:
            self.fail(where, f"shows a no its author did not disclose: {e}")
        self.scan(where, e, moment)

    def state(self, where: str, state: dict[str, Any], moment: Moment) -> None:
        self.phase(where, state["phase"], moment)
        overlay = state.get("overlay") or {}
        if set(overlay.get("answered", [])) - {self.me.seat}:
            self.fail(where, f"the overlay shows the other's debrief answer: {overlay}")
        hints = state.get("hints", {})
        mine = [i for i, (choice, _) in self.me.answers.items() if choice == "no"]
        if not set(hints.get("mutual.disclose", {}).get("items", [])) <= set(mine):
            self.fail(where, f"disclose hints beyond one's own nos: {hints}")
        self.scan(where, state, moment)

    def phase(
        self, where: str, phase: dict[str, Any], moment: Moment, *, start: bool = False
    ) -> None:
        """The phase state as a partner sees it: its own part only (where the
        phase starts, in `phase.started`, the other's part as it starts: empty)."""
        me, them = self.me.seat, self.them.seat
        kind = phase.get("kind")
        if kind == "values_sort":
            sorts = dict(phase["sorts"])
            fresh = {"places": {}, "own": [], "done": False}
            if start and sorts.get(them) == fresh:
                sorts.pop(them)
            if set(sorts) != {me}:
                self.fail(where, f"sorts of {sorted(phase['sorts'])}: {phase['sorts']}")
            if "partner_done" in phase:
                self.fail(where, "partner_done although the playbook does not show it")
        elif kind == "mutual_reveal":
            if any(a["seat"] != me for a in phase["answers"]):
                self.fail(where, f"the other's answers: {phase['answers']}")
            if set(phase["done"]) - {me}:
                self.fail(where, f"the other's done: {phase['done']}")
            for d in phase["disclosed"]:
                if d["seat"] == them and not (
                    d["item"] == self.them.disclosed and moment.disclosed
                ):
                    self.fail(where, f"a no of the other's not disclosed: {d}")
        elif kind == "comfort_scale":
            if set(phase["rated"]) - {me} or set(phase["done"]) - {me}:
                self.fail(where, f"the other's ratings: {phase['rated']}, {phase['done']}")
        elif kind == "debrief" and set(phase.get("answered", [])) - {me}:
            self.fail(where, f"the other's debrief answer: {phase['answered']}")

    def scan(self, where: str, payload: Any, moment: Moment) -> None:
        """No string of the payload tells what `moment` does not allow. The
        playbook and one's own answers are left out: the item ids and texts
        are in the playbook, which every seat has, and in one's own answers."""
        them = self.them
        text = list(strings(self.scrub(payload)))
        found = [m for m in them.never if any(m in s for s in text)]
        if not moment.values:
            found += [m for m in (them.own_card, them.own_text) if any(m in s for s in text)]
            found += [s for s in text if s.startswith(f"{them.seat}.")]  # an own card's id
        if not moment.listed:
            found += [m for m in (them.cond,) if any(m in s for s in text)]
            found += [s for s in text if s in ITEMS or s in ITEMS.values()]
        hidden = [them.undisclosed] + ([] if moment.disclosed else [them.disclosed])
        found += [s for s in text if s in hidden or s in {ITEMS[i] for i in hidden}]
        if found:
            self.fail(where, f"tells {sorted(set(found))} ({moment}): {payload}")

    def scrub(self, payload: Any) -> Any:
        """The payload without the playbook and without one's own answers."""
        me = self.me.seat

        def walk(value: Any) -> Any:
            if isinstance(value, list):
                return [walk(v) for v in value]
            if not isinstance(value, dict):
                return value
            out = {k: walk(v) for k, v in value.items() if k != "playbook"}
            if value.get("type") == "mutual.answered" and value.get("seat") == me:
                out.pop("answers")
            if value.get("kind") == "mutual_reveal":
                out["answers"] = [a for a in out["answers"] if a["seat"] != me]
            if "mutual.disclose" in out:
                out.pop("mutual.disclose")  # checked to be one's own nos (`state`)
            return out

        return walk(copy.deepcopy(payload))

    def raw(self, where: str, raw: bytes, moment: Moment, *, ack: bool) -> None:
        """The bytes as they came: the markers, whatever a decoder might miss.
        (An ack may name the other's own card id: it echoes a refused probe of
        one's own, `b_tries`, and the twin compares those.)"""
        them = self.them
        banned = list(them.never)
        if not moment.values:
            banned += [them.own_card, them.own_text]
            banned += [] if ack else [f"{them.seat}.1"]
        if not moment.listed:
            banned.append(them.cond)
        for marker in banned:
            if marker.encode() in raw:
                self.fail(where, f"raw bytes hold {marker} ({moment})")


def scan_partner(me: Private, them: Private, streams: list[list[bytes]], record: list[Any]) -> Scan:
    scan = Scan(me, them)
    scan.collect(streams)
    for n, stream in enumerate(streams):
        scan.stream(n, stream)
    # Seqs 1..n: every event the partner may see, each once, as the record has it.
    mine = visible_to(me.seat, record)
    if sorted(scan.events) != list(range(1, len(mine) + 1)):
        scan.fail("seqs", f"{sorted(scan.events)} for {len(mine)} events")
    elif [scan.events[s] for s in sorted(scan.events)] != mine:
        scan.fail("events", "differ from the record's events for this seat")
    for n, stream in enumerate(streams):
        seqs = [
            e["seq"]
            for p in packets(stream)
            if named(p)[0] == "events"
            for e in named(p)[1]["events"]
        ]
        if seqs and seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            scan.fail(f"connection {n}", f"seqs with a gap: {seqs}")
    return scan


# -- the twin comparison -------------------------------------------------------------------

#: What differs between two sessions whatever happens in them.
VOLATILE = {"at", "now", "epoch", "session", "started_at", "ends_at", "due"}


def public(value: Any, key: str = "") -> Any:
    """A payload without clocks and session ids, and without partner_a's own
    cards as the values reveal shows them (`own`: the twin adds none)."""
    if isinstance(value, dict):
        return {k: public(v, k) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        items = [public(v) for v in value]
        if key == "own":
            items = [v for v in items if not (isinstance(v, dict) and v.get("seat") == A)]
        return items
    return value


def course(streams: list[list[bytes]]) -> list[list[Any]]:
    """What partner_b's connections received, but presence (it tells who is
    connected, which is public, and comes when the server's grace ends) and
    rate-limited acks (they come when the clock says)."""
    return [
        [
            public({k: v for k, v in p.items() if k != "id"})  # acks: retries move the ids on
            for p in packets(stream)
            if named(p)[0] != "presence" and not limited(p)
        ]
        for stream in streams
    ]


def first_difference(loud: list[list[Any]], quiet: list[list[Any]]) -> str:
    if len(loud) != len(quiet):
        return f"{len(loud)} connections, {len(quiet)} in the twin"
    for n, (x, y) in enumerate(zip(loud, quiet, strict=True)):
        for k, (p, q) in enumerate(zip(x, y, strict=False)):
            if p != q:
                return f"connection {n} packet {k}:\n  {p}\n  twin: {q}"
        if len(x) != len(y):
            return f"connection {n}: {len(x)} packets, {len(y)} in the twin: {x[len(y) :]}"
    return ""


# -- the session ---------------------------------------------------------------------------


def _caught_up(seat: Seat, n: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: seat.last_seq >= n


class Run:
    """One session of values-assessment.toml with three recording seats."""

    def __init__(self, server: Server, seats: Seats, api: Api, keys: SessionKeys) -> None:
        self.server, self.seats, self.api, self.keys = server, seats, api, keys
        self.streams: dict[str, list[list[bytes]]] = {seat: [] for seat in SEATS}

    def wire(self, seat: str) -> Wire:
        client = Wire(self.server.url, self.keys.tokens[seat], seat, self.streams[seat])
        self.seats.opened.append(client)
        return client

    async def open(self) -> tuple[Wire, Wire, Wire]:
        trio = (self.wire(M), self.wire(A), self.wire(B))
        for client in trio:
            await client.connect()
            await client.join()
        self.m, self.a, self.b = trio
        return trio

    async def record(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = (await self.api.export(self.keys.id))["events"]
        return events

    async def settle(self) -> None:
        """Every joined seat has every event it may see (before a connection ends)."""
        record = await self.record()
        for seat in (self.m, self.a, self.b):
            if seat.connected:
                await seat.until(_caught_up(seat, len(visible_to(seat.seat, record))))

    async def cut(self, seat: Wire) -> None:
        """The network drops; the seat resumes from its last seq and epoch."""
        await self.settle()
        await seat.cut()
        await seat.connect()
        await seat.join(seat.last_seq, seat.epoch)
        seat.check()

    async def probe(self, seat: Wire, *, epoch: bool = True) -> None:
        """The seat leaves; a fresh connection joins without a last_seq (the whole
        history); then the seat comes back from its last seq (and epoch: without
        it, it starts over with a reset)."""
        await self.settle()
        await seat.close()
        fresh = self.wire(seat.seat)
        await fresh.connect()
        await fresh.join()
        fresh.check()
        await fresh.close()
        await seat.connect()
        ack = await seat.join(seat.last_seq, seat.epoch if epoch else None)
        assert seat.snapshots[-1]["reset"] is not epoch, ack
        seat.check()


async def b_tries(b: Wire, *commands: tuple[str, dict[str, Any]]) -> None:
    """partner_b's probes for what partner_a did: each must be refused, with a
    code and message the twin compares."""
    for type, fields in commands:
        await b.refused(type, **fields)


async def play(run: Run, loud: bool) -> None:
    """The course. With `loud`, partner_a writes privately early and much; without,
    only the minimum, just before each reveal needs it."""
    m, a, b = await run.open()
    await m.ok("admit", seat=A)
    await m.ok("admit", seat=B)
    await m.ok("phase.advance")

    # -- values cards
    await b.ok("values.sort", cards={c: PB.places[c] for c in DECK[:5]})
    await run.cut(b)  # mid values sort
    if loud:
        await a.ok("values.add", title=PA.own_card, text=PA.own_text)
        wrong = {c: PLACES[(PLACES.index(PA.places[c]) + 1) % 3] for c in DECK[:3]}
        await a.ok("values.sort", cards={**{c: PA.places[c] for c in DECK[3:12]}, **wrong})
        for card in wrong:
            await a.ok("values.move", card=card, place=PA.places[card])
        assert await a.refused("values.sort", cards={DECK[0]: "core"}) == "already_sorted"
        await a.ok("values.note", card=DECK[0], text=f"{PA.note} my parents")
        await a.ok("values.note", card=f"{A}.1", text=f"{PA.note} my own")
        await a.ok("values.sort", cards={**{c: PA.places[c] for c in DECK[12:]}, f"{A}.1": "core"})
        await a.ok("values.done")
        await a.ok("values.note", card=DECK[1], text=f"{PA.note} after done")
    await run.probe(b)  # after partner_a's private writing (in the twin: none yet)
    await b_tries(
        b,
        ("values.reveal", {}),
        ("values.move", {"card": f"{A}.1", "place": "core"}),
        ("values.note", {"card": f"{A}.1", "text": "peek"}),
        ("mutual.answer", {"answers": [{"item": X, "answer": "yes"}]}),
    )
    await b.ok("values.add", title=PB.own_card, text=PB.own_text)
    await b.ok("values.sort", cards={DECK[5]: PLACES[(PLACES.index(PB.places[DECK[5]]) + 2) % 3]})
    await b.ok("values.move", card=DECK[5], place=PB.places[DECK[5]])
    await b.ok("values.note", card=DECK[1], text=f"{PB.note} my parents")
    await b.ok("values.sort", cards={**{c: PB.places[c] for c in DECK[6:]}, f"{B}.1": "negotiable"})
    await b.ok("values.done")
    await b_tries(b, ("values.reveal", {}), ("values.done", {}))
    if loud:
        # Probing partner_b's own card (it has one): the refusal for a card nobody has.
        probes = [await a.cmd("values.note", card=f"{B}.{n}", text="peek") for n in (1, 3)]
        assert probes[0]["error"]["code"] == "unknown_card", probes
        assert probes[0]["error"]["message"].replace(".1", ".3") == probes[1]["error"]["message"]
    else:
        await a.ok("values.sort", cards=PA.places)
        await a.ok("values.done")
    await m.ok("values.reveal")
    await run.probe(b, epoch=False)  # after the values reveal
    await run.probe(a)
    if loud:
        await a.ok("values.note", card=f"{A}.1", text=f"{PA.note} after the reveal")
    await b.ok("values.note", card=f"{B}.1", text=f"{PB.note} after the reveal")
    await m.ok("phase.advance")

    # -- the yes / maybe / no list
    await b.ok("mutual.answer", answers=[PB.reply(i, ("yes", "")) for i in (X, Y, Z, W, V)])
    await b.ok("mutual.answer", answers=[PB.reply(U, ("maybe", PB.cond_old))])
    if loud:
        await a.ok("mutual.answer", answers=[PA.reply(Z, ("maybe", PA.cond_old))])
        await a.ok("mutual.answer", answers=[PA.reply(i) for i in ITEMS if i != Z])
        assert await a.refused("mutual.disclose", item=X) == "list_not_revealed"
        await a.ok("mutual.answer", answers=[PA.reply(Z)])
        await a.ok("mutual.done")
    await run.probe(b)  # mid list, after partner_a's answers (in the twin: none yet)
    await b_tries(
        b,
        ("mutual.reveal", {}),
        ("mutual.disclose", {"item": X}),
        ("mutual.done", {}),
    )
    await b.ok("mutual.answer", answers=[PB.reply(i) for i in (Y, W, V, U)])
    await b.ok("mutual.answer", answers=[PB.reply(i) for i in REST])
    await b.ok("mutual.done")
    await b_tries(b, ("mutual.reveal", {}), ("mutual.done", {}))
    if not loud:
        quiet = {**PA.answers, W: QUIET_W}
        await a.ok("mutual.answer", answers=[PA.reply(i, quiet[i]) for i in ITEMS])
        await a.ok("mutual.done")
    await m.ok("mutual.reveal")
    await run.probe(b)  # after the list reveal
    await b_tries(
        b,
        ("mutual.disclose", {"item": REST[0]}),  # both said yes: nothing to show
        ("mutual.answer", {"answers": [{"item": X, "answer": "no"}]}),
    )
    if loud:
        assert await a.refused("mutual.answer", answers=[PA.reply(X, ("yes", ""))]) == (
            "answers_locked"
        )
        assert await a.refused("mutual.disclose", item=W) == "not_your_no"
    await a.ok("mutual.disclose", item=PA.disclosed)
    await run.probe(b)  # after partner_a's disclosure
    await b.ok("mutual.disclose", item=PB.disclosed)
    await run.probe(a)
    await m.ok("phase.advance")

    # -- the comfort scale
    for s in SCENARIOS[:3]:
        await b.ok("comfort.rate", scenario=s, value=PB.ratings[s])
    if loud:
        for s in SCENARIOS:
            await a.ok("comfort.rate", scenario=s, value=6 - PA.ratings[s])
        assert await a.refused("comfort.rate", scenario=SCENARIOS[0], value=9) == "off_scale"
        for s in SCENARIOS:
            await a.ok("comfort.rate", scenario=s, value=PA.ratings[s])
        await a.ok("comfort.done")
    await run.probe(b)
    await b_tries(b, ("comfort.done", {}))
    for s in SCENARIOS[3:]:
        await b.ok("comfort.rate", scenario=s, value=PB.ratings[s])
    await b.ok("comfort.done")
    if not loud:  # other values: ratings are never shown, whatever they are
        for s in SCENARIOS:
            await a.ok("comfort.rate", scenario=s, value=6 - PA.ratings[s])
        await a.ok("comfort.done")
    await m.ok("phase.advance")

    # -- the closing debrief: partner_b answers last, and that ends the session
    if loud:
        await a.ok("debrief.answer", rating=3, text=PA.debrief)
    await run.probe(b)
    if not loud:
        await a.ok("debrief.answer", rating=9)
    await b.ok("debrief.answer", rating=8, text=PB.debrief)
    for seat in (m, a, b):
        await seat.until_type("session.ended")
    await run.probe(b)
    await run.probe(a)
    await run.settle()
    for seat in (m, a, b):
        seat.check()


async def test_a_partner_receives_nothing_private_of_the_other(
    server: Server, seats: Seats, api: Api
) -> None:
    run = Run(server, seats, api, await server.create_session("values-assessment"))
    await play(run, loud=True)
    record = await run.record()
    assert record[-1]["type"] == "session.ended"
    # partner_b left and came back mid sort, after partner_a's writing, after
    # each reveal and disclosure, at the end: fresh, resumed and reset.
    assert len(run.streams[B]) >= 18 and len(run.streams[A]) >= 7

    # Every packet each partner received, against what it was allowed to know then.
    for me, them in ((PB, PA), (PA, PB)):
        scan = scan_partner(me, them, run.streams[me.seat], record)
        assert not scan.problems, "\n".join(scan.problems[:30])
        assert set(scan.reveals) == {"values", "listed", "disclosed"}, scan.reveals

    # What a partner was meant to be shown did reach it: the reveals.
    b_events = visible_to(B, record)
    comparison = next(e for e in b_events if e["type"] == "values.revealed")["comparison"]
    assert {(o["seat"], o["title"], o["text"]) for o in comparison["own"]} == {
        (A, PA.own_card, PA.own_text),
        (B, PB.own_card, PB.own_text),
    }
    assert comparison["shared_core"] and comparison["core_and_not_important"]
    shared = next(e for e in b_events if e["type"] == "mutual.revealed")["shared"]
    assert [s["item"] for s in shared] == SHARED
    assert shared[0][A] == {"answer": "maybe", "condition": PA.cond}
    assert shared[1][B] == {"answer": "maybe", "condition": PB.cond}
    disclosed = [(e["seat"], e["item"]) for e in b_events if e["type"] == "mutual.disclosed"]
    assert disclosed == [(A, Y), (B, V)]

    # The mediator sees everything, live: every marker, every private event,
    # both sorts and all answers in its state, and partner_a's refusals.
    m = run.m
    assert m.connections == 1 and m.events == record
    raw = b"".join(run.streams[M][0])
    for marker in (*PA.markers, *PB.markers):
        assert marker.encode() in raw, marker
    for seat in (A, B):
        kinds = {e["type"] for e in m.events if e.get("seat") == seat}
        assert PRIVATE_TYPES - {"measure.submitted"} <= kinds, (seat, kinds)
    locked = next(e for e in m.events if e["type"] == "mutual.locked")["answers"]
    assert {(x["seat"], x["item"], x["answer"]) for x in locked} >= {(A, X, "no"), (B, W, "no")}
    sorting = [s["phase"] for s in m.states if s["phase"]["kind"] == "values_sort"]
    assert sorting[-1]["sorts"][A]["own"][0]["title"] == PA.own_card
    assert set(sorting[-1]["sorts"]) == {A, B}
    answering = [s["phase"] for s in m.states if s["phase"]["kind"] == "mutual_reveal"]
    assert {(x["seat"], x["condition"]) for x in answering[-1]["answers"]} >= {
        (A, PA.cond_hidden),
        (B, PB.cond_hidden),
    }
    assert {r["code"] for r in m.refusals if r["seat"] == A} >= {
        "already_sorted",
        "unknown_card",
        "list_not_revealed",
        "answers_locked",
        "not_your_no",
        "off_scale",
    }


async def test_a_partner_cannot_tell_what_or_how_much_the_other_wrote(
    server: Server, seats: Seats, api: Api
) -> None:
    runs: dict[bool, Run] = {}
    for loud in (True, False):
        runs[loud] = Run(server, seats, api, await server.create_session("values-assessment"))
        await play(runs[loud], loud)
    records = {loud: await run.record() for loud, run in runs.items()}
    # partner_a wrote far more privately in one session than in the other...
    counts = {loud: sum(set(e["audience"]) == {M, A} for e in r) for loud, r in records.items()}
    assert counts[True] > counts[False] + 15, counts
    for loud, run in runs.items():
        scan = scan_partner(PB, PA, run.streams[B], records[loud])
        assert not scan.problems, "\n".join(scan.problems[:30])
    # ...and partner_b cannot tell the sessions apart: the same packets (seqs,
    # types, states, may, hints, prompts, acks and refusals), connection by
    # connection, live and on every resume and fresh join.
    loud_b, quiet_b = course(runs[True].streams[B]), course(runs[False].streams[B])
    difference = first_difference(loud_b, quiet_b)
    assert not difference, difference
    assert len(loud_b) >= 18
    assert len(visible_to(B, records[True])) == len(visible_to(B, records[False]))
