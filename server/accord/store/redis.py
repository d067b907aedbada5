"""The distributed store: the event logs and the registry in Redis.

`RedisStore` is both an EventLog and a Registry (base.py), and it also owns
everything else the nodes of a distributed deployment share through Redis: the
sessions' channels, the timer deadlines and the seat claims. Every key it uses
is named here and nowhere else.

Per session (the `{<sid>}` hash tag puts them all in one Redis Cluster slot, so
the cluster shards by session and every script below touches one slot):

    accord:{sid}:log      stream, one entry per event, id `<seq>-0`
    accord:{sid}:head     the last seq (string)
    accord:{sid}:epoch    the log's epoch (string)
    accord:{sid}:cmds     hash `<seat>:<cid>` -> the last seq of that command
    accord:{sid}:events   the session's (sharded) pub/sub channel
    accord:{sid}:seats    hash seat -> how many times it was claimed
    accord:{sid}:info     hash, the SessionInfo
    accord:{sid}:invites  zset invite id by created_at
    accord:{sid}:audit    list of the session's audit entries
    accord:{sid}:refusals hash `<seat>:<code>` -> partners' refused commands
    accord:{sid}:presence hash seat -> msgpack [status, node, at], the latest presence

Shared (tagged `{registry}` or `{timers}`, so each group is one slot):

    accord:{registry}:mediators         hash id -> mediator
    accord:{registry}:emails            hash email -> id
    accord:{registry}:sessions          zset session id by created_at
    accord:{registry}:sessions-by:<mid> zset, one mediator's sessions
    accord:{registry}:cases             zset case id by created_at
    accord:{registry}:cases-by:<mid>    zset, one mediator's cases
    accord:{registry}:case-sessions:<cid> zset, one case's sessions by created_at
    accord:{registry}:audit             list of every audit entry
    accord:{timers}:due                 zset session id by earliest deadline
    accord:{timers}:seq                 hash session id -> `<epoch>:<seq>` of that deadline
    accord:node:<node>                  a live node's heartbeat (expires unless renewed)
    accord:invite:<iid>                 hash, one Invite
    accord:case:<cid>                   hash, one Case
    accord:setup:<token hash>           hash, one setup token

An append is one Lua script (Redis runs a script alone, start to end): it
checks the expected head and the command key, adds the records to the stream,
moves the head, records the command and SPUBLISHes the records on the session's
channel, all in one step, so every node sees one total order. Every check comes
before the first write, so a refused append writes nothing. A script is atomic,
not transactional; nothing in these scripts can fail after its first write.

Failures: any connection error or timeout raises `Unavailable` within about the
socket timeout (2 s); a refused or timed-out call is never reported as done.
When it is unknown whether a write landed (a timeout after sending), a retry
with the same command key answers `DuplicateCommand` if it did. With
`wait_replicas` > 0 an append returns only after `WAIT` saw that many replicas
take it; otherwise it raises `Unavailable` (the events are on the primary and
a retry with the same command key confirms them).

Durability is Redis's: run it with `appendonly yes` and `appendfsync always`
(docs/SCALING.md). The epoch is born with the log; if Redis loses the keys (a
restart without persistence), the next touch makes a new epoch, and clients
that resume are told to start over.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import msgpack
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.exceptions import (
    NoScriptError,
    RedisError,
    ResponseError,
)
from redis.exceptions import (
    TimeoutError as RedisTimeoutError,
)

from accord.store.base import (
    KEEP,
    AuditEntry,
    Case,
    CommandKey,
    Deadline,
    DuplicateCommand,
    Invite,
    LogHead,
    Mediator,
    NewRecord,
    Record,
    SeqConflict,
    SessionInfo,
    StoreError,
    Unavailable,
    check_read_limit,
    new_epoch,
)

logger = logging.getLogger(__name__)

#: Seconds to wait for Redis to answer (or to accept a connection) before the
#: call fails with Unavailable. A command is answered long before this; only a
#: dead or partitioned Redis comes near it.
SOCKET_TIMEOUT_S: Final = 2.0
CONNECT_TIMEOUT_S: Final = 1.0

#: Replies that mean "Redis cannot take writes right now", not "bad request".
_UNAVAILABLE_REPLIES: Final = (
    "LOADING",
    "READONLY",
    "OOM",
    "MISCONF",
    "NOREPLICAS",
    "MASTERDOWN",
    "TRYAGAIN",
    "CLUSTERDOWN",
    "BUSY",
)

_RECORD_FIELDS: Final = 4  # at, actor, audience, body


# --- key names ------------------------------------------------------------------


def session_key(session_id: str, part: str) -> str:
    return f"accord:{{{session_id}}}:{part}"


def channel(session_id: str) -> str:
    """The session's pub/sub channel (sharded: SPUBLISH / SSUBSCRIBE)."""
    return session_key(session_id, "events")


def session_of_channel(name: str | bytes) -> str:
    text = name.decode() if isinstance(name, bytes) else name
    return text[text.index("{") + 1 : text.index("}")]


_MEDIATORS: Final = "accord:{registry}:mediators"
_EMAILS: Final = "accord:{registry}:emails"
_SESSIONS: Final = "accord:{registry}:sessions"
_AUDIT: Final = "accord:{registry}:audit"
_CASES: Final = "accord:{registry}:cases"
TIMERS_DUE: Final = "accord:{timers}:due"
_TIMERS_SEQ: Final = "accord:{timers}:seq"


def _sessions_by(mediator_id: str) -> str:
    return f"accord:{{registry}}:sessions-by:{mediator_id}"


def _cases_by(mediator_id: str) -> str:
    return f"accord:{{registry}}:cases-by:{mediator_id}"


def _case_sessions(case_id: str) -> str:
    return f"accord:{{registry}}:case-sessions:{case_id}"


def _case_key(case_id: str) -> str:
    return f"accord:case:{case_id}"


def _node_key(node: str) -> str:
    return f"accord:node:{node}"


def _invite_key(invite_id: str) -> str:
    return f"accord:invite:{invite_id}"


def _setup_key(token_hash: str) -> str:
    return f"accord:setup:{token_hash}"


def _command_field(command: CommandKey) -> str:
    # Seats hold no ':', so the field names the (seat, cid) pair without ambiguity.
    return f"{command.seat}:{command.cid}"


# --- scripts --------------------------------------------------------------------


class _Script:
    """A Lua script run by its SHA1, loaded again if Redis forgot it (a restart)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(
        self, client: aioredis.Redis, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)


# KEYS: log, head, epoch, cmds. ARGV: expected head, a fresh epoch, the command
# field ('' for none), '1' to make a duplicate write something (so WAIT has a
# write of this connection to wait for), the channel, the publish payload, then
# at, actor, audience, body for each record.
_APPEND = _Script(
    """
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[3], epoch)
end
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
if ARGV[3] ~= '' then
  local first = redis.call('HGET', KEYS[4], ARGV[3])
  if first then
    if ARGV[4] == '1' then redis.call('SET', KEYS[2], head) end
    return {'dup', tonumber(first)}
  end
end
if head ~= tonumber(ARGV[1]) then return {'conflict', head} end
if redis.call('XLEN', KEYS[1]) ~= head then return {'diverged', head} end
local n = (#ARGV - 6) / 4
for i = 0, n - 1 do
  local a = 7 + i * 4
  redis.call('XADD', KEYS[1], (head + i + 1) .. '-0',
    'at', ARGV[a], 'actor', ARGV[a + 1], 'aud', ARGV[a + 2], 'body', ARGV[a + 3])
end
if n > 0 then
  head = head + n
  redis.call('SET', KEYS[2], head)
  redis.call('SPUBLISH', ARGV[5], 'r:' .. epoch .. ':' .. ARGV[6])
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[4], ARGV[3], head) end
return {'ok', head}
"""
)

# KEYS: head, epoch. ARGV: a fresh epoch. The head, creating the epoch on first touch.
_TOUCH = _Script(
    """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
return {tonumber(redis.call('GET', KEYS[1]) or '0'), epoch}
"""
)

# KEYS: epoch. ARGV: the epoch the caller saw, a fresh one. Replace it only if unchanged.
_RENEW_EPOCH = _Script(
    """
local epoch = redis.call('GET', KEYS[1])
if epoch == ARGV[1] or not epoch then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
return epoch
"""
)

# KEYS: timers due, timers seq. ARGV: session, epoch, seq, due ('' for none).
# A node that saw an older state of the session never overwrites a newer one.
_SET_TIMER = _Script(
    """
local mark = redis.call('HGET', KEYS[2], ARGV[1])
if mark then
  local sep = string.find(mark, ':', 1, true)
  if string.sub(mark, 1, sep - 1) == ARGV[2]
      and tonumber(string.sub(mark, sep + 1)) > tonumber(ARGV[3]) then
    return 0
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
end
return 1
"""
)

# KEYS: timers due. ARGV: session, cutoff, lease end. Take a due session for a
# while, so one node (of those polling) loads it and fires its timers.
_CLAIM_TIMER = _Script(
    """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if due and tonumber(due) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""
)

# KEYS: seats. ARGV: seat, node, channel. The newest claim of a seat wins.
_CLAIM_SEAT = _Script(
    """
local gen = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('SPUBLISH', ARGV[3], 's:' .. ARGV[1] .. ':' .. gen .. ':' .. ARGV[2])
return gen
"""
)

# KEYS: a hash. ARGV: field, value, ... Create it unless it exists.
_CREATE = _Script(
    """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""
)

# KEYS: mediators, emails. ARGV: id, email, the encoded mediator.
_ADD_MEDIATOR = _Script(
    """
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 'email' end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'id' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 'ok'
"""
)

# KEYS: a hash. ARGV: field, the value it must still have, its new value.
_REPLACE_FIELD = _Script(
    """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
)

# KEYS: mediators, emails. ARGV: email.
_MEDIATOR_BY_EMAIL = _Script(
    """
local id = redis.call('HGET', KEYS[2], ARGV[1])
if not id then return false end
return redis.call('HGET', KEYS[1], id)
"""
)

# KEYS: session info. ARGV: status.
_SET_STATUS = _Script(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
return 1
"""
)

# KEYS: invite. ARGV: at. The first revocation's time stays.
_REVOKE = _Script(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HEXISTS', KEYS[1], 'revoked_at') == 0 then
  redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
end
return redis.call('HGETALL', KEYS[1])
"""
)

# KEYS: a hash. ARGV: field, value, ... Change those fields if the hash exists;
# all its fields as they are now (false if it does not exist).
_UPDATE = _Script(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if #ARGV > 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return redis.call('HGETALL', KEYS[1])
"""
)

# KEYS: setup token. ARGV: now.
_USE_SETUP = _Script(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'used_at') == 1 then return 0 end
if tonumber(ARGV[1]) >= tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then return 0 end
redis.call('HSET', KEYS[1], 'used_at', ARGV[1])
return 1
"""
)


# --- encoding -------------------------------------------------------------------


def _num(value: float) -> str:
    # repr round-trips a float exactly.
    return repr(float(value))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _hash(raw: dict[bytes, bytes]) -> dict[str, bytes]:
    return {k.decode(): v for k, v in raw.items()}


def _session_from(fields: dict[str, bytes]) -> SessionInfo:
    created_by = fields.get("created_by")
    case_id = fields.get("case_id")
    return SessionInfo(
        id=_text(fields["id"]),
        title=_text(fields["title"]),
        playbook_name=_text(fields["playbook_name"]),
        playbook_source=_text(fields["playbook_source"]),
        created_by=None if created_by is None else _text(created_by),
        created_at=float(fields["created_at"]),
        status=_text(fields["status"]),
        case_id=None if case_id is None else _text(case_id),
    )


def _case_from(fields: dict[str, bytes]) -> Case:
    owner = fields.get("owner")
    return Case(
        id=_text(fields["id"]),
        owner=None if owner is None else _text(owner),
        title=_text(fields["title"]),
        name_a=_text(fields["name_a"]),
        name_b=_text(fields["name_b"]),
        created_at=float(fields["created_at"]),
        archived=fields.get("archived") == b"1",
    )


def _invite_from(fields: dict[str, bytes]) -> Invite:
    revoked = fields.get("revoked_at")
    return Invite(
        id=_text(fields["id"]),
        session_id=_text(fields["session_id"]),
        seat=_text(fields["seat"]),
        created_at=float(fields["created_at"]),
        expires_at=float(fields["expires_at"]),
        revoked_at=None if revoked is None else float(revoked),
    )


def _record_from(entry_id: bytes, fields: dict[bytes, bytes]) -> Record:
    return Record(
        seq=int(entry_id.split(b"-", 1)[0]),
        at=float(fields[b"at"]),
        actor=fields[b"actor"].decode(),
        audience=int(fields[b"aud"]),
        body=bytes(fields[b"body"]),
    )


def encode_published(first_seq: int, records: Sequence[NewRecord]) -> bytes:
    """The payload an append publishes: enough for another node to rebuild the Records."""
    payload: bytes = msgpack.packb(
        [first_seq, [[r.at, r.actor, r.audience, bytes(r.body)] for r in records]],
        use_bin_type=True,
    )
    return payload


def decode_published(payload: bytes) -> list[Record]:
    first, rows = msgpack.unpackb(payload, raw=False)
    return [
        Record(seq=first + i, at=float(at), actor=actor, audience=int(aud), body=bytes(body))
        for i, (at, actor, aud, body) in enumerate(rows)
    ]


def redacted(url: str) -> str:
    """A Redis URL fit for a log line: no user name or password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


# --- the store ------------------------------------------------------------------


class RedisStore:
    """EventLog and Registry over Redis. Open with `await RedisStore.open(url)`.

    `wait_replicas` > 0 makes every append wait (up to `wait_timeout_ms`) until
    that many replicas have it, and fail with Unavailable if they do not.
    """

    def __init__(
        self,
        url: str,
        *,
        wait_replicas: int = 0,
        wait_timeout_ms: int = 1000,
        socket_timeout: float = SOCKET_TIMEOUT_S,
    ) -> None:
        # Use open(): it checks that Redis answers.
        self.url = url
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self._closed = False
        self._pubsub_client: aioredis.Redis | None = None
        # One retry, at once, and only on a broken connection: a pooled
        # connection is dead after a Redis restart and a fresh one works. A
        # timeout is not retried, so a dead Redis fails a call within the
        # socket timeout. A retried write is safe: the append script answers
        # a repeat with DuplicateCommand or SeqConflict.
        timeout = max(socket_timeout, wait_timeout_ms / 1000 + 1.0)
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1, (RedisConnectionError,)),
            health_check_interval=0,
        )

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        wait_replicas: int = 0,
        wait_timeout_ms: int = 1000,
        socket_timeout: float = SOCKET_TIMEOUT_S,
    ) -> RedisStore:
        """Connect to the Redis at `url` and check that it answers and can run the store."""
        store = cls(
            url,
            wait_replicas=wait_replicas,
            wait_timeout_ms=wait_timeout_ms,
            socket_timeout=socket_timeout,
        )
        try:
            info = await store._call(store._redis.info("server"))
            version = str(info.get("redis_version", "0"))
            if int(version.split(".")[0]) < 7:
                raise StoreError(
                    f"Redis {version} at {redacted(url)} is too old: Accord needs Redis 7 "
                    "(sharded pub/sub)"
                )
            await store._warn_about_durability()
        except BaseException:
            await store._redis.aclose()
            raise
        return store

    async def _warn_about_durability(self) -> None:
        """Say so if Redis would lose acknowledged events in a crash (docs/SCALING.md)."""
        try:
            config: dict[Any, Any] = await self._redis.config_get("append*")
        except RedisError:
            return  # managed Redis services often hide CONFIG; trust the operator
        settings = {_text(k): _text(v) for k, v in config.items()}
        if settings.get("appendonly") != "yes":
            logger.warning(
                "Redis at %s runs without the append-only file: a Redis crash loses events "
                "that were acknowledged. Set appendonly yes (docs/SCALING.md).",
                redacted(self.url),
            )
        elif settings.get("appendfsync") != "always" and self.wait_replicas == 0:
            logger.warning(
                "Redis at %s fsyncs its append-only file %s, not always: a power loss can "
                "lose up to a second of acknowledged events unless redis_wait_replicas > 0.",
                redacted(self.url),
                settings.get("appendfsync"),
            )

    async def _call(self, work: Awaitable[Any]) -> Any:
        """Await a Redis call, turning a failure of Redis itself into Unavailable.

        redis-py's return types do not know that replies stay bytes here, so
        the results are Any and each caller converts what it gets."""
        if self._closed:
            if inspect.iscoroutine(work):
                work.close()  # a coroutine never awaited would warn
            raise Unavailable("the Redis store is closed")
        try:
            return await work
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise Unavailable(f"Redis is unavailable: {type(exc).__name__}: {exc}") from exc
        except ResponseError as exc:
            if str(exc).startswith(_UNAVAILABLE_REPLIES):
                raise Unavailable(f"Redis refused the call: {exc}") from exc
            raise StoreError(f"Redis refused the call: {exc}") from exc
        except RedisError as exc:
            raise Unavailable(f"Redis failed: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._redis.aclose()
        if self._pubsub_client is not None:
            await self._pubsub_client.aclose()

    # EventLog

    async def head(self, session_id: str) -> LogHead:
        seq, epoch = await self._call(
            _TOUCH(
                self._redis,
                [session_key(session_id, "head"), session_key(session_id, "epoch")],
                [new_epoch()],
            )
        )
        return LogHead(seq=int(seq), epoch=_text(epoch))

    async def append(
        self,
        session_id: str,
        expected_seq: int,
        records: Sequence[NewRecord],
        command: CommandKey | None = None,
        *,
        deadline: Deadline = KEEP,
    ) -> int:
        # `deadline` is not kept here: the nodes keep the shared timer set.
        keys = [session_key(session_id, part) for part in ("log", "head", "epoch", "cmds")]
        args: list[Any] = [
            expected_seq,
            new_epoch(),
            "" if command is None else _command_field(command),
            "1" if self.wait_replicas else "0",
            channel(session_id),
            encode_published(expected_seq + 1, records),
        ]
        for r in records:
            args += [_num(r.at), r.actor, r.audience, bytes(r.body)]
        if self.wait_replicas:
            outcome, seq = await self._call(self._append_and_wait(keys, args))
        else:
            outcome, seq = await self._call(_APPEND(self._redis, keys, args))
        outcome = _text(outcome)
        if outcome == "ok":
            return int(seq)
        if outcome == "dup":
            raise DuplicateCommand(int(seq))
        if outcome == "conflict":
            raise SeqConflict(session_id, expected_seq, int(seq))
        # The head and the stream disagree: someone else wrote the keys, or
        # Redis lost some of them (an eviction policy other than noeviction).
        logger.error("session %s: log and head disagree in Redis; refusing to append", session_id)
        raise Unavailable(f"session {session_id}: the log in Redis is inconsistent")

    async def deadlines(self) -> dict[str, float]:
        """The shared timer set (hub/distributed.py keeps it, not `append`)."""
        pairs = await self._call(self._redis.zrange(TIMERS_DUE, 0, -1, withscores=True))
        return {_text(session_id): float(due) for session_id, due in pairs}

    async def set_deadline(self, session_id: str, deadline: float | None, head: int) -> None:
        """Nothing: in Redis the nodes record deadlines with `set_timer`."""

    async def _append_and_wait(self, keys: list[str], args: list[Any]) -> list[Any]:
        """The append and a WAIT on one connection (WAIT counts that connection's writes)."""
        for attempt in range(2):
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.evalsha(_APPEND.sha, len(keys), *keys, *args)
                pipe.execute_command("WAIT", self.wait_replicas, self.wait_timeout_ms)
                result, acked = await pipe.execute(raise_on_error=False)
            if isinstance(result, NoScriptError) and attempt == 0:
                await self._redis.script_load(_APPEND.source)
                continue
            if isinstance(result, Exception):
                raise result
            if isinstance(acked, Exception):
                raise acked
            if int(acked) < self.wait_replicas and _text(result[0]) in ("ok", "dup"):
                raise Unavailable(
                    f"only {int(acked)} of {self.wait_replicas} Redis replicas confirmed the "
                    f"append within {self.wait_timeout_ms} ms"
                )
            return list(result)
        raise AssertionError("unreachable")  # pragma: no cover

    async def read(
        self, session_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Record]:
        check_read_limit(limit)
        if limit == 0:
            if self._closed:
                raise Unavailable("the Redis store is closed")
            return []
        entries = await self._call(
            self._redis.xrange(
                session_key(session_id, "log"), min=f"{max(after_seq, 0) + 1}-0", count=limit
            )
        )
        return [_record_from(entry_id, fields) for entry_id, fields in entries]

    async def command_result(self, session_id: str, command: CommandKey) -> int | None:
        found = await self._call(
            self._redis.hget(session_key(session_id, "cmds"), _command_field(command))
        )
        return None if found is None else int(found)

    # What the nodes of a deployment share beyond the EventLog (hub/distributed.py).

    async def heads(self, session_ids: Sequence[str]) -> dict[str, LogHead | None]:
        """Several sessions' heads in one round trip, without creating any epoch."""
        if not session_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid in session_ids:
                pipe.get(session_key(sid, "head"))
                pipe.get(session_key(sid, "epoch"))
            values = await self._call(pipe.execute())
        found: dict[str, LogHead | None] = {}
        for i, sid in enumerate(session_ids):
            seq, epoch = values[2 * i], values[2 * i + 1]
            found[sid] = None if epoch is None else LogHead(int(seq or 0), _text(epoch))
        return found

    async def renew_epoch(self, session_id: str, seen: str) -> str:
        """Give the log a new epoch if it still has `seen`: for a log found to have
        gone backwards (Redis restored an older copy). Returns the epoch in force."""
        epoch = await self._call(
            _RENEW_EPOCH(self._redis, [session_key(session_id, "epoch")], [seen, new_epoch()])
        )
        return _text(epoch)

    def pubsub(self) -> PubSub:
        """A fresh pub/sub connection for a node's subscriptions to session channels.

        It never reconnects by itself: a subscriber must see every break, since
        messages published while it was away are lost and must be read from
        the logs instead."""
        if self._pubsub_client is None:
            self._pubsub_client = aioredis.Redis.from_url(
                self.url,
                socket_timeout=SOCKET_TIMEOUT_S,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                retry=Retry(NoBackoff(), 0),
            )
        return self._pubsub_client.pubsub()

    async def publish(self, session_id: str, message: bytes) -> None:
        """A notice to the nodes serving this session (seat claims, presence, revocations)."""
        await self._call(self._redis.spublish(channel(session_id), message))

    async def set_presence(
        self, session_id: str, seat: str, status: str, node: str, at: float, message: bytes
    ) -> None:
        """Record a seat's latest presence and publish `message` on the session's
        channel, in one transaction: the record is always the last message sent."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(session_key(session_id, "presence"), seat, msgpack.packb([status, node, at]))
            pipe.spublish(channel(session_id), message)
            await self._call(pipe.execute())

    async def presence(self, session_id: str) -> dict[str, tuple[str, str, float]]:
        """Each seat's latest presence: seat -> (status, node, at)."""
        raw = await self._call(self._redis.hgetall(session_key(session_id, "presence")))
        found: dict[str, tuple[str, str, float]] = {}
        for seat, blob in raw.items():
            status, node, at = msgpack.unpackb(blob, raw=False)
            found[_text(seat)] = (status, node, float(at))
        return found

    async def heartbeat(self, node: str, ttl_s: float) -> None:
        """Say that `node` is alive for the next `ttl_s` seconds."""
        await self._call(self._redis.set(_node_key(node), b"1", px=int(ttl_s * 1000)))

    async def alive(self, nodes: Sequence[str]) -> set[str]:
        """Which of these nodes renewed their heartbeat in time."""
        if not nodes:
            return set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for node in nodes:
                pipe.exists(_node_key(node))
            found = await self._call(pipe.execute())
        return {node for node, exists in zip(nodes, found, strict=True) if exists}

    async def claim_seat(self, session_id: str, seat: str, node: str) -> int:
        """Claim a seat for a connection on `node`; the highest claim number wins.

        Publishes `s:<seat>:<claim>:<node>` on the session's channel."""
        gen = await self._call(
            _CLAIM_SEAT(
                self._redis, [session_key(session_id, "seats")], [seat, node, channel(session_id)]
            )
        )
        return int(gen)

    async def set_timer(self, session_id: str, epoch: str, seq: int, due: float | None) -> bool:
        """Record the session's earliest deadline as of (epoch, seq); None: no deadline.

        Ignored (False) if a newer state of the same epoch was recorded already."""
        done = await self._call(
            _SET_TIMER(
                self._redis,
                [TIMERS_DUE, _TIMERS_SEQ],
                [session_id, epoch, seq, "" if due is None else _num(due)],
            )
        )
        return bool(done)

    async def due_timers(self, cutoff: float, limit: int = 100) -> list[str]:
        """Sessions whose earliest deadline is at or before `cutoff`, soonest first."""
        found = await self._call(
            self._redis.zrangebyscore(TIMERS_DUE, "-inf", _num(cutoff), start=0, num=limit)
        )
        return [_text(sid) for sid in found]

    async def claim_timer(self, session_id: str, cutoff: float, lease_until: float) -> bool:
        """Take a due session until `lease_until`, unless another node took it first."""
        won = await self._call(
            _CLAIM_TIMER(self._redis, [TIMERS_DUE], [session_id, _num(cutoff), _num(lease_until)])
        )
        return bool(won)

    async def memory_usage(self, session_id: str) -> dict[str, int]:
        """Bytes Redis uses for each of a session's keys (MEMORY USAGE), for capacity planning."""
        sizes: dict[str, int] = {}
        parts = ("log", "head", "epoch", "cmds", "seats", "info", "invites", "audit")
        for part in (*parts, "refusals", "presence"):
            key = session_key(session_id, part)
            used = await self._call(self._redis.memory_usage(key, samples=0))
            if used is not None:
                sizes[key] = int(used)
        for invite_id in await self._call(
            self._redis.zrange(session_key(session_id, "invites"), 0, -1)
        ):
            key = _invite_key(_text(invite_id))
            used = await self._call(self._redis.memory_usage(key, samples=0))
            if used is not None:
                sizes[key] = int(used)
        return sizes

    # Registry: mediators

    async def add_mediator(self, mediator: Mediator) -> None:
        blob = msgpack.packb(
            [mediator.id, mediator.email, mediator.password_hash, mediator.created_at]
        )
        outcome = _text(
            await self._call(
                _ADD_MEDIATOR(
                    self._redis, [_MEDIATORS, _EMAILS], [mediator.id, mediator.email, blob]
                )
            )
        )
        if outcome == "email":
            raise ValueError("a mediator with this email already exists")
        if outcome == "id":
            raise ValueError(f"a mediator with id {mediator.id} already exists")

    @staticmethod
    def _mediator(blob: bytes | None) -> Mediator | None:
        if blob is None:
            return None
        mid, email, password_hash, created_at = msgpack.unpackb(blob, raw=False)
        return Mediator(id=mid, email=email, password_hash=password_hash, created_at=created_at)

    async def mediator_by_email(self, email: str) -> Mediator | None:
        blob = await self._call(_MEDIATOR_BY_EMAIL(self._redis, [_MEDIATORS, _EMAILS], [email]))
        return self._mediator(blob)

    async def mediator_by_id(self, mediator_id: str) -> Mediator | None:
        return self._mediator(await self._call(self._redis.hget(_MEDIATORS, mediator_id)))

    async def set_password_hash(self, mediator_id: str, password_hash: str) -> None:
        for _ in range(3):  # compare-and-set: another writer may change the record
            blob = await self._call(self._redis.hget(_MEDIATORS, mediator_id))
            mediator = self._mediator(blob)
            if mediator is None:
                return
            new = msgpack.packb([mediator.id, mediator.email, password_hash, mediator.created_at])
            args = [mediator_id, blob, new]
            if await self._call(_REPLACE_FIELD(self._redis, [_MEDIATORS], args)):
                return
        raise Unavailable("the mediator record kept changing; retry")

    async def count_mediators(self) -> int:
        return int(await self._call(self._redis.hlen(_MEDIATORS)))

    # Registry: sessions

    async def add_session(self, session: SessionInfo) -> None:
        fields: list[Any] = [
            "id",
            session.id,
            "title",
            session.title,
            "playbook_name",
            session.playbook_name,
            "playbook_source",
            session.playbook_source,
            "created_at",
            _num(session.created_at),
            "status",
            session.status,
        ]
        if session.created_by is not None:
            fields += ["created_by", session.created_by]
        if session.case_id is not None:
            fields += ["case_id", session.case_id]
        # The indexes first, the session last: a failure in between leaves an
        # index entry without a session, which listing skips, never a session
        # that no listing shows. NX keeps a duplicate from moving an entry.
        # (The index and the session live in different cluster slots.)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(_SESSIONS, {session.id: session.created_at}, nx=True)
            if session.created_by is not None:
                pipe.zadd(
                    _sessions_by(session.created_by), {session.id: session.created_at}, nx=True
                )
            if session.case_id is not None:
                pipe.zadd(
                    _case_sessions(session.case_id), {session.id: session.created_at}, nx=True
                )
            await self._call(pipe.execute())
        done = await self._call(_CREATE(self._redis, [session_key(session.id, "info")], fields))
        if not done:
            raise ValueError(f"session {session.id} already exists")

    async def get_session(self, session_id: str) -> SessionInfo | None:
        raw = await self._call(self._redis.hgetall(session_key(session_id, "info")))
        return _session_from(_hash(raw)) if raw else None

    async def list_sessions(self, created_by: str | None = None) -> list[SessionInfo]:
        """All sessions, or those one mediator created; oldest first."""
        index = _SESSIONS if created_by is None else _sessions_by(created_by)
        ids = [_text(i) for i in await self._call(self._redis.zrange(index, 0, -1))]
        return [s for s in await self._sessions(ids) if s is not None]

    async def _sessions(self, session_ids: list[str]) -> list[SessionInfo | None]:
        if not session_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid in session_ids:
                pipe.hgetall(session_key(sid, "info"))
            rows = await self._call(pipe.execute())
        return [_session_from(_hash(raw)) if raw else None for raw in rows]

    async def set_session_status(self, session_id: str, status: str) -> None:
        done = await self._call(
            _SET_STATUS(self._redis, [session_key(session_id, "info")], [status])
        )
        if not done:
            raise KeyError(session_id)

    # Registry: cases

    async def add_case(self, case: Case) -> None:
        fields: list[Any] = [
            "id",
            case.id,
            "title",
            case.title,
            "name_a",
            case.name_a,
            "name_b",
            case.name_b,
            "created_at",
            _num(case.created_at),
            "archived",
            "1" if case.archived else "0",
        ]
        if case.owner is not None:
            fields += ["owner", case.owner]
        # Indexes first, as for sessions: listing skips an index entry without a case.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(_CASES, {case.id: case.created_at}, nx=True)
            if case.owner is not None:
                pipe.zadd(_cases_by(case.owner), {case.id: case.created_at}, nx=True)
            await self._call(pipe.execute())
        if not await self._call(_CREATE(self._redis, [_case_key(case.id)], fields)):
            raise ValueError(f"case {case.id} already exists")

    async def get_case(self, case_id: str) -> Case | None:
        raw = await self._call(self._redis.hgetall(_case_key(case_id)))
        return _case_from(_hash(raw)) if raw else None

    async def list_cases(self, owner: str | None = None) -> list[Case]:
        """All cases, or one mediator's; oldest first."""
        index = _CASES if owner is None else _cases_by(owner)
        ids = [_text(i) for i in await self._call(self._redis.zrange(index, 0, -1))]
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for cid in ids:
                pipe.hgetall(_case_key(cid))
            rows = await self._call(pipe.execute())
        cases = [_case_from(_hash(raw)) for raw in rows if raw]
        return [c for c in cases if owner is None or c.owner == owner]

    async def case_sessions(self, case_id: str) -> list[SessionInfo]:
        """A case's sessions, oldest first."""
        ids = [
            _text(i) for i in await self._call(self._redis.zrange(_case_sessions(case_id), 0, -1))
        ]
        return [s for s in await self._sessions(ids) if s is not None and s.case_id == case_id]

    async def update_case(
        self,
        case_id: str,
        *,
        title: str | None = None,
        name_a: str | None = None,
        name_b: str | None = None,
        archived: bool | None = None,
    ) -> Case | None:
        """Change the fields given (None: keep); the case as it is now, None if unknown."""
        args: list[Any] = []
        for name, value in (("title", title), ("name_a", name_a), ("name_b", name_b)):
            if value is not None:
                args += [name, value]
        if archived is not None:
            args += ["archived", "1" if archived else "0"]
        flat = await self._call(_UPDATE(self._redis, [_case_key(case_id)], args))
        if not flat:
            return None
        return _case_from({_text(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)})

    # Registry: invites

    async def add_invite(self, invite: Invite) -> None:
        fields: list[Any] = [
            "id",
            invite.id,
            "session_id",
            invite.session_id,
            "seat",
            invite.seat,
            "created_at",
            _num(invite.created_at),
            "expires_at",
            _num(invite.expires_at),
        ]
        if invite.revoked_at is not None:
            fields += ["revoked_at", _num(invite.revoked_at)]
        # Index first, as for sessions; listing checks that an invite belongs.
        await self._call(
            self._redis.zadd(
                session_key(invite.session_id, "invites"), {invite.id: invite.created_at}, nx=True
            )
        )
        if not await self._call(_CREATE(self._redis, [_invite_key(invite.id)], fields)):
            raise ValueError(f"invite {invite.id} already exists")

    async def get_invite(self, invite_id: str) -> Invite | None:
        raw = await self._call(self._redis.hgetall(_invite_key(invite_id)))
        return _invite_from(_hash(raw)) if raw else None

    async def list_invites(self, session_id: str) -> list[Invite]:
        """A session's invites, oldest first."""
        ids = await self._call(self._redis.zrange(session_key(session_id, "invites"), 0, -1))
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for iid in ids:
                pipe.hgetall(_invite_key(_text(iid)))
            rows = await self._call(pipe.execute())
        invites = [_invite_from(_hash(raw)) for raw in rows if raw]
        return [i for i in invites if i.session_id == session_id]

    async def revoke_invite(self, invite_id: str, at: float) -> Invite | None:
        """Revoke an invite; revoking twice keeps the first time. None if unknown."""
        flat = await self._call(_REVOKE(self._redis, [_invite_key(invite_id)], [_num(at)]))
        if not flat:
            return None
        return _invite_from({_text(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)})

    # Registry: setup tokens

    async def add_setup_token(self, token_hash: str, expires_at: float) -> None:
        if not await self._call(
            _CREATE(self._redis, [_setup_key(token_hash)], ["expires_at", _num(expires_at)])
        ):
            raise ValueError("this setup token already exists")

    async def use_setup_token(self, token_hash: str, now: float) -> bool:
        """True once for a known, unexpired token; False ever after."""
        return bool(
            await self._call(_USE_SETUP(self._redis, [_setup_key(token_hash)], [_num(now)]))
        )

    # Registry: audit

    async def count_refusal(self, session_id: str, seat: str, code: str) -> None:
        await self._call(
            self._redis.hincrby(session_key(session_id, "refusals"), f"{seat}:{code}", 1)
        )

    async def refusal_counts(self, session_id: str) -> dict[str, dict[str, int]]:
        raw = await self._call(self._redis.hgetall(session_key(session_id, "refusals")))
        counts: dict[str, dict[str, int]] = {}
        for field, count in sorted(raw.items()):
            seat, _, code = _text(field).partition(":")
            counts.setdefault(seat, {})[code] = int(count)
        return counts

    async def audit(self, entry: AuditEntry) -> None:
        blob = msgpack.packb([entry.at, entry.actor, entry.action, entry.session_id, entry.detail])
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(_AUDIT, blob)
            if entry.session_id is not None:
                pipe.rpush(session_key(entry.session_id, "audit"), blob)
            await self._call(pipe.execute())

    async def audit_entries(self, session_id: str | None = None) -> list[AuditEntry]:
        """Entries in the order they were recorded, all or one session's."""
        key = _AUDIT if session_id is None else session_key(session_id, "audit")
        blobs = await self._call(self._redis.lrange(key, 0, -1))
        return [AuditEntry(*msgpack.unpackb(b, raw=False)) for b in blobs]


#: The Redis errors a node's background loops treat as "Redis is down for now".
REDIS_DOWN: Final[tuple[type[BaseException], ...]] = (RedisError, OSError, StoreError)

__all__ = [
    "REDIS_DOWN",
    "TIMERS_DUE",
    "RedisStore",
    "channel",
    "decode_published",
    "encode_published",
    "redacted",
    "session_of_channel",
]
