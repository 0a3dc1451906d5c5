"""The id map: which GHL object stands for which Toky object (guarantee 2, no duplicates).

Contacts are kept by phone (a Toky contact's identity): the GHL contact id,
the tags GHL last reported for it and the hash of the payload last written.
Children (notes, tasks, appointments, follow-up tasks) are kept by Toky object
key (``call:<callid>``, ``task:<task_id>``, ``followup:call:<callid>``, …): the
GHL id and the contact it hangs on. Before a child is created an *intent* is
written; the id map entry right after. An intent without an entry means an
earlier attempt may have created the object and lost the answer.

Keys: ``worker.keys.idmap_key`` (a contact by phone, the phone of a GHL contact
id: one phone, one contact, guarantee 3, a child by object key, an intent, and
the object keys of a phone, so deleting a contact clears them all).

Lifetime: every key expires ``IDMAP_TTL_S`` (a year, as an object's version in
``worker.versions``) after its object was last written OR read through the map,
so an object still receiving events keeps its entry, and the map does not grow
without bound. An object untouched for a year is forgotten along with its
version: an event about it arriving after that is applied as new (a contact is
found again by phone through GHL's upsert; a child would be created anew).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import redis
from redis.commands.core import Script

from contract.ids import GHL_ID_RULE, is_ghl_id
from toky_ghl.redis_conn import text
from toky_ghl.redis_scripts import script
from worker.keys import idmap_key
from worker.versions import VERSION_TTL_S

if TYPE_CHECKING:
    from worker.sync.context import SyncContext

#: How long an id-map entry lives after its object was last written or read, in seconds.
IDMAP_TTL_S = VERSION_TTL_S

# Each write is one script (atomic, and cheaper than MULTI/EXEC: Redis counts every
# command, MULTI and EXEC included). KEYS[1]: the contact hash; KEYS[2]: the owner key
# of the new id; KEYS[3]: the phone index. ARGV[1]: contact id; ARGV[2]: phone;
# ARGV[3]: TTL (s); ARGV[4]: tags JSON ('' keeps them); ARGV[5]: payload hash ('':
# forget it); ARGV[6]: the owner keys' prefix (the old id's owner key is dropped).
_REMEMBER_CONTACT_LUA = """
local before = redis.call('HGET', KEYS[1], 'id')
if before and before ~= ARGV[1] then redis.call('DEL', ARGV[6] .. before) end
local fields = {'id', ARGV[1]}
if ARGV[4] ~= '' then fields[#fields + 1] = 'tags'; fields[#fields + 1] = ARGV[4] end
if ARGV[5] ~= '' then fields[#fields + 1] = 'hash'; fields[#fields + 1] = ARGV[5] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
if ARGV[5] == '' then redis.call('HDEL', KEYS[1], 'hash') end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
return 1
"""
# KEYS[1]: the child's hash; KEYS[2]: the phone index; KEYS[3]: the intent.
# ARGV[1]: GHL id; ARGV[2]: contact id; ARGV[3]: the object key; ARGV[4]: TTL (s);
# ARGV[5]: "1" when this delivery's ``mark_intent`` just indexed the key (and renewed
# the index): the index is then not written again.
_PUT_LUA = """
redis.call('HSET', KEYS[1], 'ghl_id', ARGV[1], 'contact_id', ARGV[2])
if ARGV[5] ~= '1' then
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
redis.call('DEL', KEYS[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
# KEYS[1]: the intent; KEYS[2]: the phone index. ARGV[1]: contact id; ARGV[2]: the
# object key; ARGV[3]: TTL (s).
_MARK_INTENT_LUA = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""
@dataclass(frozen=True)
class Child:
    """A GHL child object: its id and the id of the contact it belongs to."""

    ghl_id: str
    contact_id: str


#: What the delivery's begin script read of the id map (``worker.delivery``), by Redis
#: key: a hash's fields (``{}``: no such key) or a string (None: no such key). Each part
#: answers ONE read; any write through the map drops them all, so a read after a write,
#: or a second read (a re-read under a lock), goes to Redis.
class _Prefetch:
    """Values read ahead, each (key, field) answering one read."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = dict(values)
        self.taken: set[tuple[str, str | None]] = set()

    def take(self, key: str, part: str | None = None) -> Any:
        if key not in self.values or (key, part) in self.taken:
            return _MISSING
        self.taken.add((key, part))
        value = self.values[key]
        return value if part is None else (value or {}).get(part)


_prefetched: ContextVar[_Prefetch | None] = ContextVar("idmap_prefetched", default=None)
_MISSING = object()


@contextmanager
def prefetched(values: dict[str, Any] | None) -> Iterator[None]:
    """Within this block, id map reads are answered from ``values`` first (one event's
    delivery: the begin script read them under the object's lock, renewing what exists)."""
    token = _prefetched.set(_Prefetch(values) if values else None)
    try:
        yield
    finally:
        _prefetched.reset(token)


def _take(key: str, part: str | None = None) -> Any:
    """The prefetched value of ``key`` (a hash's field ``part``), used up; ``_MISSING``
    when none is left."""
    ahead = _prefetched.get()
    return _MISSING if ahead is None else ahead.take(key, part)


def _drop_prefetched() -> None:
    """A write through the map: what was read ahead may be stale now."""
    ahead = _prefetched.get()
    if ahead is not None:
        ahead.values.clear()


def _ghl_id(value: str, what: str) -> str:
    """``value`` when it is a GHL id (``contract.ids``); an id that could address another
    URL path (``..``, ``a/b``) is never remembered."""
    if not is_ghl_id(value):
        shown = value if len(str(value)) <= 40 else f"{str(value)[:40]}…"
        raise ValueError(f"refusing to remember {what} {shown!r}: not a GHL id ({GHL_ID_RULE})")
    return value


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


class IdMap:
    """Toky object → GHL id, in Redis under ``prefix``."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    @cached_property
    def _scripts(self) -> tuple[Script, Script, Script]:
        """The write scripts (no command sent: each call is one EVALSHA, the script loaded
        once on NOSCRIPT, as redis-py's Script does), made once per client
        (``toky_ghl.redis_scripts``)."""
        remember, put, mark = (script(self._redis, s) for s in (
            _REMEMBER_CONTACT_LUA, _PUT_LUA, _MARK_INTENT_LUA))
        return remember, put, mark

    @classmethod
    def for_context(cls, ctx: SyncContext) -> IdMap:
        """The id map of a ``SyncContext`` (its Redis, under its key prefix)."""
        return cls(ctx.redis, ctx.settings.key_prefix)

    def _key(self, kind: str, name: str) -> str:
        return idmap_key(self._prefix, kind, name)

    # -- contacts, by phone ---------------------------------------------------

    def _read(self, key: str, command: str, *args: str) -> Any:
        """``command`` on ``key``, and the key's lifetime renewed, in one round trip."""
        with self._redis.pipeline(transaction=False) as pipe:
            getattr(pipe, command)(key, *args)
            pipe.expire(key, IDMAP_TTL_S)
            return pipe.execute()[0]

    def prefetch_keys(self, phone: str | None, child_key: str | None, *,
                      intent: bool = True) -> tuple[list[str], list[str]]:
        """The keys an event's handler reads first (``prefetched``): the hashes (the
        contact of ``phone``, the child ``child_key``) and the strings (its intent)."""
        hashes = ([self._key("contact", phone)] if phone else []) + (
            [self._key("obj", child_key)] if child_key else [])
        strings = [self._key("intent", child_key)] if child_key and intent else []
        return hashes, strings

    def contact(self, phone: str) -> str | None:
        """The GHL contact id of ``phone``, or None when unknown."""
        ahead = _take(self._key("contact", phone), "id")
        if ahead is not _MISSING:
            return _text(ahead)
        return _text(self._read(self._key("contact", phone), "hget", "id"))

    def owner(self, contact_id: str) -> str | None:
        """The phone mapped to GHL contact ``contact_id``, or None when no phone is
        (read and renewed in one command, ``GETEX``)."""
        return _text(self._redis.getex(self._key("owner", contact_id), ex=IDMAP_TTL_S))

    def contact_tags(self, phone: str) -> list[str] | None:
        """The contact's tags as GHL last reported them, or None when unknown."""
        ahead = _take(self._key("contact", phone), "tags")
        raw = _text(self._redis.hget(self._key("contact", phone), "tags")
                    if ahead is _MISSING else ahead)
        return None if raw is None else json.loads(raw)

    def payload_hash(self, phone: str) -> str | None:
        """The hash of the contact payload last written for ``phone``, or None."""
        ahead = _take(self._key("contact", phone), "hash")
        if ahead is not _MISSING:
            return _text(ahead)
        return _text(self._redis.hget(self._key("contact", phone), "hash"))

    def remember_contact(
        self, phone: str, contact_id: str, *, tags: list[str] | None = None,
        payload_hash: str | None = None,
    ) -> None:
        """Map ``phone`` to ``contact_id``. ``tags`` None keeps the known tags;
        ``payload_hash`` None forgets the last payload's hash (the next update writes)."""
        _drop_prefetched()
        _ghl_id(contact_id, "the GHL contact id")
        remember = self._scripts[0]
        remember(keys=[self._key("contact", phone), self._key("owner", contact_id),
                       self._key("phone", phone)],
                 args=[contact_id, phone, IDMAP_TTL_S,
                       "" if tags is None else json.dumps(list(tags)), payload_hash or "",
                       self._key("owner", "")])

    def forget_payload_hash(self, phone: str) -> None:
        """Forget the hash of the payload last written for ``phone`` (GHL was changed by
        someone else, e.g. the GHL → Toky mirror saw an edit): the next update writes."""
        _drop_prefetched()
        self._redis.hdel(self._key("contact", phone), "hash")

    def forget_contact(self, phone: str) -> None:
        """Forget the contact of ``phone`` (GHL no longer has it); children stay."""
        _drop_prefetched()
        self._forget_owner(phone)
        self._redis.delete(self._key("contact", phone))

    def _forget_owner(self, phone: str) -> None:
        contact_id = self.contact(phone)
        if contact_id is not None and self.owner(contact_id) == phone:
            self._redis.delete(self._key("owner", contact_id))

    def forget_phone(self, phone: str) -> int:
        """Forget the contact of ``phone`` and every child and intent under it.

        Returns how many child entries were cleared.
        """
        _drop_prefetched()
        index = self._key("phone", phone)
        keys = [text(k) for k in self._redis.smembers(index)]
        self._forget_owner(phone)
        with self._redis.pipeline() as pipe:
            for key in keys:
                pipe.delete(self._key("obj", key), self._key("intent", key))
            pipe.delete(self._key("contact", phone), index)
            pipe.execute()
        return len(keys)

    # -- children, by Toky object key -------------------------------------------

    def get(self, key: str) -> Child | None:
        """The GHL object mapped to Toky object ``key``, or None."""
        raw = _take(self._key("obj", key))
        if raw is _MISSING:
            raw = self._read(self._key("obj", key), "hgetall")
        if not raw:
            return None
        entry = {text(k): text(v) for k, v in raw.items()}
        return Child(ghl_id=entry["ghl_id"], contact_id=entry["contact_id"])

    def put(self, key: str, child: Child, phone: str, *, indexed: bool = False) -> None:
        """Map ``key`` to ``child`` (right after the create) and drop its intent;
        ``indexed``: ``mark_intent`` of this key and phone ran just before (the phone's
        index already holds the key and was renewed)."""
        _drop_prefetched()
        _ghl_id(child.ghl_id, f"the GHL id of {key}")
        _ghl_id(child.contact_id, "the GHL contact id")
        put = self._scripts[1]
        put(keys=[self._key("obj", key), self._key("phone", phone), self._key("intent", key)],
            args=[child.ghl_id, child.contact_id, key, IDMAP_TTL_S, "1" if indexed else "0"])

    def forget(self, key: str) -> None:
        """Forget ``key``'s GHL object (deleted, or gone from GHL)."""
        _drop_prefetched()
        self._redis.delete(self._key("obj", key), self._key("intent", key))

    def mark_intent(self, key: str, contact_id: str, phone: str) -> None:
        """Record that ``key`` is about to be created on ``contact_id`` (before the create)."""
        _drop_prefetched()
        mark = self._scripts[2]
        mark(keys=[self._key("intent", key), self._key("phone", phone)],
             args=[contact_id, key, IDMAP_TTL_S])

    def intent(self, key: str) -> str | None:
        """The contact id of an earlier, unfinished create of ``key``, or None."""
        ahead = _take(self._key("intent", key))
        if ahead is not _MISSING:
            return _text(ahead)
        return _text(self._redis.get(self._key("intent", key)))

    def clear_intent(self, key: str) -> None:
        """Drop ``key``'s intent (the create surely wrote nothing)."""
        _drop_prefetched()
        self._redis.delete(self._key("intent", key))
