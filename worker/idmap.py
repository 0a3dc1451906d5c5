"""The id map: which GHL object stands for which Toky object (guarantee 2, no duplicates).

Contacts are kept by phone (a Toky contact's identity): the GHL contact id,
the tags GHL last reported for it and the hash of the payload last written.
Children (notes, tasks, appointments, follow-up tasks) are kept by Toky object
key (``call:<callid>``, ``task:<task_id>``, ``followup:call:<callid>``, …): the
GHL id and the contact it hangs on. Before a child is created an *intent* is
written; the id map entry right after. An intent without an entry means an
earlier attempt may have created the object and lost the answer.

Keys (``worker.keys.idmap_key``, their types in ``worker.keys.IDMAP_KINDS``):

- ``contact:<phone>`` HASH: ``id``, ``tags``, ``hash`` (the payload's; '' none),
  ``d`` (the day, since the epoch, the hash's lifetime was last renewed) and one
  field ``c:<object key>`` per child of the phone: the index that lets deleting a
  contact clear its children, and the child's intent (the contact id it is being
  created on; '' none), which counts only while the child has no entry;
- ``owner:<contact id>`` STRING: the phone mapped to a GHL contact id (one phone,
  one contact, guarantee 3); it counts only while that phone's hash still names the
  contact, so re-mapping or forgetting a phone needs no write to it;
- ``obj:<object key>`` STRING: ``<ghl id> <contact id>`` (the entry); ``?<contact
  id>``: an intent of the layout before, moved here (below).

Why this layout: Redis counts every command (``INFO commandstats``), and a delivery's
begin script (``worker.delivery``) reads the map (``BEGIN_LUA``) in the same call as
its lock: a contact and its child's intent cost one ``HMGET``, a child's entry one
``GETEX`` (its lifetime renewed in the same command); a create costs one ``HSET``
(index and intent) before it and one ``SET`` (the entry) after. No key is written by a
script, so no ``EVALSHA`` either; the writes of one step go in one round trip.

The layout before (kept readable, data compatibility): ``obj:<key>`` a HASH
(``ghl_id``, ``contact_id``), intents in ``intent:<key>`` and the index in the SET
``phone:<phone>``. Such a child entry is read as it is (and replaced by the next
write); the old intents of a phone are moved into their ``obj`` keys the first time
the begin script sees its hash without ``d`` (``BEGIN_LUA``); reads outside a delivery
still look at ``intent:<key>``; deleting a contact also clears the old index. Upgrade
by stopping the old workers before starting new ones: an old worker does not read the
intents a new one writes.

Lifetime: every key expires ``IDMAP_TTL_S`` (a year, as an object's version in
``worker.versions``) after its object was last written OR read through the map, so an
object still receiving events keeps its entry, and the map does not grow without bound.
A contact's hash (and its owner key) read by a delivery is renewed once a day at most
(``d``), a child's entry at every read. An object untouched for a year is forgotten
along with its version: an event about it arriving after that is applied as new (a
contact is found again by phone through GHL's upsert; a child would be created anew).
One race can leave a small hash without a lifetime: a contact deleted (``forget_phone``)
while another worker indexes a new child of the same phone; the phone's next event
gives it one again (``remember_contact``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from redis.typing import EncodableT

from contract.ids import GHL_ID_RULE, is_ghl_id
from toky_ghl.redis_conn import text
from toky_ghl.redis_direct import Command, direct
from worker.keys import idmap_key
from worker.versions import VERSION_TTL_S

if TYPE_CHECKING:
    from worker.sync.context import SyncContext

#: How long an id-map entry lives after its object was last written or read, in seconds.
IDMAP_TTL_S = VERSION_TTL_S
#: How often a contact's hash read by deliveries has its lifetime renewed, in seconds.
RENEW_EVERY_S = 86_400
#: The field of a contact's hash naming one of its children (the phone's index).
CHILD_FIELD = "c:"
_INTENT = "?"  # an ``obj`` value starting with it is an intent (GHL ids never do)

# The id map's part of the delivery's begin script (``worker.delivery``), run once the
# object's lock is held. Locals it expects: ``ib`` (KEYS[ib+1..ib+4]: the contact hash,
# the child's ``obj`` key, the phone's old index SET, the child's old intent key; ''
# when not read) and ``ia`` (ARGV[ia+1..ia+4]: today's day number, the TTL in s, the id
# map's key prefix ``P:idmap:``, the child's field in the contact hash). It sets
# ``idmap`` = {the hash's id, tags, hash, d and the child's field (HMGET), the child's
# value (GETEX: a string; a hash's HGETALL for the old layout), the old intent (read
# only without a contact)}.
# A hash not renewed today is renewed with its owner key; one without ``d`` (written
# before this layout) first has its phone's old intents moved into their obj keys
# (SET NX: an entry already there wins). Old keys are named from the prefix (not
# declared: as the scripts before; toky-ghl runs on one Redis, not a cluster).
BEGIN_LUA = """
local idmap = {false, false, false}
do
  local ck, ok, pk, ik = KEYS[ib + 1], KEYS[ib + 2], KEYS[ib + 3], KEYS[ib + 4]
  local today, ttl, pre, cf = ARGV[ia + 1], ARGV[ia + 2], ARGV[ia + 3], ARGV[ia + 4]
  if ck ~= '' then
    local c = redis.call('HMGET', ck, 'id', 'tags', 'hash', 'd', cf)
    idmap[1] = c
    if c[4] ~= today and (c[1] or c[4]) then
      if not c[4] then
        local members = redis.call('SMEMBERS', pk)
        for i = 1, #members, 500 do
          local chunk = {}
          for j = i, math.min(i + 499, #members) do
            chunk[#chunk + 1] = pre .. 'intent:' .. members[j]
          end
          local found = redis.call('MGET', unpack(chunk))
          for j = 1, #chunk do
            if found[j] then
              redis.call('SET', pre .. 'obj:' .. members[i + j - 1], '?' .. found[j],
                         'EX', ttl, 'NX')
              redis.call('DEL', chunk[j])
            end
          end
        end
      end
      redis.call('EXPIRE', ck, ttl)
      redis.call('HSET', ck, 'd', today)
      if c[1] then redis.call('EXPIRE', pre .. 'owner:' .. c[1], ttl) end
    end
  end
  if ok ~= '' then
    local v = redis.pcall('GETEX', ok, 'EX', ttl)
    if type(v) == 'table' and v.err then
      v = redis.call('HGETALL', ok)
      if #v > 0 then redis.call('EXPIRE', ok, ttl) end
    end
    idmap[2] = v
    if not v and ik ~= '' then idmap[3] = redis.call('GET', ik) end
  end
end
"""
#: How many KEYS and ARGV ``BEGIN_LUA`` takes.
BEGIN_KEYS, BEGIN_ARGS = 4, 4


@dataclass(frozen=True)
class Child:
    """A GHL child object: its id and the id of the contact it belongs to."""

    ghl_id: str
    contact_id: str


def _today() -> str:
    return str(int(time.time()) // RENEW_EVERY_S)


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


def _parse_obj(raw: Any) -> tuple[Child | None, str | None]:
    """(the entry, the intent's contact id) of an ``obj`` value: a string of this layout,
    or the old layout's hash (a dict, or HGETALL's flat list inside a script)."""
    if not raw:
        return None, None
    if isinstance(raw, list):
        raw = {raw[i]: raw[i + 1] for i in range(0, len(raw), 2)}
    if isinstance(raw, dict):
        entry = {text(k): text(v) for k, v in raw.items()}
        return Child(ghl_id=entry["ghl_id"], contact_id=entry["contact_id"]), None
    value = text(raw)
    if value.startswith(_INTENT):
        return None, value[len(_INTENT):]
    ghl_id, _, contact_id = value.partition(" ")
    return Child(ghl_id=ghl_id, contact_id=contact_id), None


@dataclass(frozen=True)
class Ahead:
    """What a delivery's begin script reads of the id map (``BEGIN_LUA``) for one event:
    its customer's ``phone`` and its child's object key (None: not read)."""

    phone: str | None
    child: str | None
    keys: tuple[str, ...]
    args: tuple[str | int, ...]

    def values(self, answer: Any) -> dict[tuple[str, str], Any]:
        """The prefetched values (``prefetched``) of the script's answer ``idmap``."""
        contact, obj, legacy = (list(answer) + [None] * 3)[:3]
        values: dict[tuple[str, str], Any] = {}
        if self.phone is not None:
            fields = list(contact or []) + [None] * 5
            values[("contact", self.phone)] = {
                "id": fields[0], "tags": fields[1], "hash": fields[2]}
            values[("clean", self.phone)] = True  # its old intents are moved (or moot)
            if fields[0] and fields[3] is not None and text(fields[3]) == str(self.args[0]):
                values[("fresh", self.phone)] = text(fields[0])  # renewed today
        if self.child is not None:
            values[("obj", self.child)] = obj or None
            values[("phone-of", self.child)] = self.phone
            if self.phone is not None:  # the intent of this layout, in the phone's hash
                values[("field", self.child)] = fields[4]
            if self.phone is not None or self.keys[3]:  # with a phone: moved into obj
                values[("legacy", self.child)] = None if self.phone else legacy or None
        return values


class _Prefetch:
    """Values read ahead, each (key, part) answering one read; ``clean``: the phones
    whose old intents the begin script moved (a fact no write changes); ``fresh``: the
    contact id of each phone whose hash (and owner key) had been renewed today."""

    def __init__(self, values: dict[tuple[str, str], Any]) -> None:
        self.clean = {name for (kind, name), yes in values.items() if kind == "clean" and yes}
        self.fresh = {name: value for (kind, name), value in values.items() if kind == "fresh"}
        #: the phone the begin script read each child with (None: without one)
        self.phone_of = {name: v for (kind, name), v in values.items() if kind == "phone-of"}
        self.values = {k: v for k, v in values.items()
                       if k[0] not in ("clean", "fresh", "phone-of")}
        self.taken: set[tuple[tuple[str, str], str]] = set()

    def take(self, key: tuple[str, str], part: str) -> Any:
        if key not in self.values or (key, part) in self.taken:
            return _MISSING
        self.taken.add((key, part))
        return self.values[key]


_prefetched: ContextVar[_Prefetch | None] = ContextVar("idmap_prefetched", default=None)
_MISSING = object()


@contextmanager
def prefetched(values: dict[tuple[str, str], Any] | None) -> Iterator[None]:
    """Within this block, id map reads are answered from ``values`` first (one event's
    delivery: the begin script read them under the object's lock, ``Ahead.values``).
    Each part answers ONE read; a write through the map drops what was read of the keys
    it writes, so a read after a write, or a second read (a re-read under a lock), goes
    to Redis."""
    token = _prefetched.set(_Prefetch(values) if values else None)
    try:
        yield
    finally:
        _prefetched.reset(token)


def _take(kind: str, name: str, part: str) -> Any:
    """The prefetched value of ``(kind, name)`` for ``part``, used up; ``_MISSING`` when
    none is left."""
    ahead = _prefetched.get()
    return _MISSING if ahead is None else ahead.take((kind, name), part)


def _drop_prefetched(*keys: tuple[str, str]) -> None:
    """A write through the map to ``keys`` (none given: any key): what was read ahead of
    them may be stale now (what was read of other keys is as it was)."""
    ahead = _prefetched.get()
    if ahead is not None and not keys:
        ahead.values.clear()
    elif ahead is not None:
        for key in keys:
            ahead.values.pop(key, None)


def _clean(phone: str) -> bool:
    """True when this delivery's begin script saw ``phone``'s old intents moved."""
    ahead = _prefetched.get()
    return ahead is not None and phone in ahead.clean


def _fresh(phone: str) -> str | None:
    """The contact id of ``phone`` when this delivery's begin script found its hash
    renewed today (its lifetime and its owner key's need no write before tomorrow)."""
    ahead = _prefetched.get()
    return None if ahead is None else ahead.fresh.get(phone)


def _phone_of(key: str) -> str | None:
    """The phone this delivery's begin script read child ``key`` with, or None."""
    ahead = _prefetched.get()
    return None if ahead is None else ahead.phone_of.get(key)


def _child_parts(key: str) -> tuple[tuple[str, str], ...]:
    """What is read ahead of child ``key``: its obj value, its field, its old intent."""
    return ("obj", key), ("field", key), ("legacy", key)


def _stale(phone: str) -> None:
    """``phone``'s hash was emptied or deleted: what ``_fresh`` knew no longer holds."""
    ahead = _prefetched.get()
    if ahead is not None:
        ahead.fresh.pop(phone, None)


def _ghl_id(value: str, what: str) -> str:
    """``value`` when it is a GHL id (``contract.ids``); an id that could address another
    URL path (``..``, ``a/b``) is never remembered."""
    if not is_ghl_id(value):
        shown = value if len(str(value)) <= 40 else f"{str(value)[:40]}…"
        raise ValueError(f"refusing to remember {what} {shown!r}: not a GHL id ({GHL_ID_RULE})")
    return value


class IdMap:
    """Toky object → GHL id, in Redis under ``prefix``."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        #: the per-event writes, sent without redis-py's per-command layers
        #: (``toky_ghl.redis_direct``)
        self._direct = direct(client)
        self._prefix = prefix
        #: object keys whose intent this instance found in the old layout (``intent:``):
        #: the write that settles it drops that key too.
        self._old_intents: set[str] = set()

    @classmethod
    def for_context(cls, ctx: SyncContext) -> IdMap:
        """The id map of a ``SyncContext`` (its Redis, under its key prefix)."""
        return cls(ctx.redis, ctx.settings.key_prefix)

    def _key(self, kind: str, name: str) -> str:
        return idmap_key(self._prefix, kind, name)

    def ahead(self, phone: str | None, child_key: str | None, *,
              intent: bool = True) -> Ahead:
        """What the begin script reads for an event (``BEGIN_LUA``): the contact of
        ``phone``, the child ``child_key`` (its entry or intent; ``intent`` False: the
        old layout's intent is not looked for, e.g. a delete)."""
        keys = (self._key("contact", phone) if phone else "",
                self._key("obj", child_key) if child_key else "",
                self._key("phone", phone) if phone else "",
                self._key("intent", child_key) if child_key and intent and not phone else "")
        prefix = idmap_key(self._prefix, "", "").removesuffix(":")  # "P:idmap:"
        field = CHILD_FIELD + child_key if child_key and phone else ""
        return Ahead(phone, child_key, keys, (_today(), IDMAP_TTL_S, prefix, field))

    # -- contacts, by phone ---------------------------------------------------

    def _read(self, key: str, command: str, *args: str) -> Any:
        """``command`` on ``key``, and the key's lifetime renewed, in one round trip."""
        with self._redis.pipeline(transaction=False) as pipe:
            getattr(pipe, command)(key, *args)
            pipe.expire(key, IDMAP_TTL_S)
            return pipe.execute()[0]

    def _field(self, phone: str, field: str) -> Any:
        ahead = _take("contact", phone, field)
        if ahead is not _MISSING:
            return (ahead or {}).get(field)
        return self._redis.hget(self._key("contact", phone), field)

    def contact(self, phone: str) -> str | None:
        """The GHL contact id of ``phone``, or None when unknown."""
        ahead = _take("contact", phone, "id")
        if ahead is not _MISSING:
            return _text((ahead or {}).get("id"))
        key = self._key("contact", phone)
        contact_id, day = (_text(v) for v in self._redis.hmget(key, "id", "d"))
        if contact_id is not None and day != _today():  # renewed today: nothing to renew
            self._redis.expire(key, IDMAP_TTL_S)
        return contact_id

    def owner(self, contact_id: str) -> str | None:
        """The phone mapped to GHL contact ``contact_id``, or None when no phone is: the
        owner key (read and renewed in one command, ``GETEX``) while that phone's hash
        still names the contact."""
        phone = _text(self._redis.getex(self._key("owner", contact_id), ex=IDMAP_TTL_S))
        if phone is None:
            return None
        mapped = _text(self._redis.hget(self._key("contact", phone), "id"))
        return phone if mapped == contact_id else None

    def contact_tags(self, phone: str) -> list[str] | None:
        """The contact's tags as GHL last reported them, or None when unknown."""
        raw = _text(self._field(phone, "tags"))
        return None if raw is None else json.loads(raw)

    def payload_hash(self, phone: str) -> str | None:
        """The hash of the contact payload last written for ``phone``, or None."""
        return _text(self._field(phone, "hash")) or None

    def remember_contact(
        self, phone: str, contact_id: str, *, tags: list[str] | None = None,
        payload_hash: str | None = None, also: Sequence[Command] = (),
    ) -> None:
        """Map ``phone`` to ``contact_id``. ``tags`` None keeps the known tags;
        ``payload_hash`` None forgets the last payload's hash (the next update writes);
        ``also``: other writes to send after the map's, in its round trip (the mirror's
        fingerprint of the contact, ``worker.sync.mirror.written_to_ghl``).

        One round trip: the owner key first (an owner key without the hash naming its
        contact counts for nothing, ``owner``), then the hash and its lifetime. ``d`` is
        written only when this delivery's begin script moved the phone's old intents.
        The same contact in a hash renewed today (``_fresh``) is one ``HSET``: its
        lifetime and owner key were written today. (A contact event holds the phone's
        lock, so no ``forget_phone`` deletes the hash meanwhile; a child event racing the
        contact's deletion may leave it without a lifetime until the phone's next
        event on another day renews it.)"""
        _drop_prefetched(("contact", phone))
        _ghl_id(contact_id, "the GHL contact id")
        key = self._key("contact", phone)
        hset: list[EncodableT] = ["HSET", key, "id", contact_id, "hash", payload_hash or ""]
        if tags is not None:
            hset += ["tags", json.dumps(list(tags))]
        if _clean(phone):
            hset += ["d", _today()]
        if _fresh(phone) == contact_id:
            self._direct.calls(hset, *also)
            return
        self._direct.calls(("SET", self._key("owner", contact_id), phone, "EX", IDMAP_TTL_S),
                           hset, ("EXPIRE", key, IDMAP_TTL_S), *also)

    def forget_payload_hash(self, phone: str) -> None:
        """Forget the hash of the payload last written for ``phone`` (GHL was changed by
        someone else, e.g. the GHL → Toky mirror saw an edit): the next update writes."""
        _drop_prefetched(("contact", phone))
        self._redis.hdel(self._key("contact", phone), "hash")

    def forget_contact(self, phone: str) -> None:
        """Forget the contact of ``phone`` (GHL no longer has it); children stay, and so
        does the phone's index of them (its owner key counts no more, ``owner``)."""
        _drop_prefetched(("contact", phone))
        _stale(phone)
        self._redis.hdel(self._key("contact", phone), "id", "tags", "hash")

    def forget_phone(self, phone: str) -> int:
        """Forget the contact of ``phone`` and every child and intent under it (indexed
        in its hash, or in the old layout's SET).

        Returns how many child entries were cleared.
        """
        _drop_prefetched()
        _stale(phone)
        hash_key, index = self._key("contact", phone), self._key("phone", phone)
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(hash_key)
            pipe.smembers(index)
            fields, old = pipe.execute()
        fields = {text(k): v for k, v in fields.items()}
        keys = {f[len(CHILD_FIELD):] for f in fields if f.startswith(CHILD_FIELD)}
        keys |= {text(k) for k in old}
        contact_id = _text(fields.get("id"))
        owner_key = self._key("owner", contact_id) if contact_id else None
        if owner_key is not None and _text(self._redis.get(owner_key)) != phone:
            owner_key = None
        with self._redis.pipeline() as pipe:
            for key in keys:
                pipe.delete(self._key("obj", key), self._key("intent", key))
            pipe.delete(hash_key, index, *([owner_key] if owner_key else []))
            pipe.execute()
        return len(keys)

    # -- children, by Toky object key -------------------------------------------

    def _obj(self, key: str, part: str) -> tuple[Child | None, str | None]:
        """The entry and intent of ``key`` (the ``GETEX`` renews its lifetime; an entry
        of the old layout is a hash, read with ``HGETALL`` and renewed)."""
        ahead = _take("obj", key, part)
        if ahead is not _MISSING:
            return _parse_obj(ahead)
        name = self._key("obj", key)
        try:
            raw = self._redis.getex(name, ex=IDMAP_TTL_S)
        except redis.exceptions.ResponseError:  # WRONGTYPE: the old layout's hash
            raw = self._read(name, "hgetall")
        ahead = _prefetched.get()
        if ahead is not None:  # within a delivery, the value answers the other part's read
            ahead.values[("obj", key)] = raw
            ahead.taken.add((("obj", key), part))
        return _parse_obj(raw)

    def get(self, key: str) -> Child | None:
        """The GHL object mapped to Toky object ``key``, or None."""
        return self._obj(key, "entry")[0]

    def put(self, key: str, child: Child, phone: str, *, indexed: bool = False) -> None:
        """Map ``key`` to ``child`` (right after the create): one ``SET``, the entry then
        outweighing the intent left in the phone's hash; ``indexed``: ``mark_intent`` of
        this key and phone ran just before (the phone's index already holds the key)."""
        _drop_prefetched(*_child_parts(key))
        _ghl_id(child.ghl_id, f"the GHL id of {key}")
        _ghl_id(child.contact_id, "the GHL contact id")
        writes: list[tuple[EncodableT, ...]] = []
        if not indexed:
            writes.append(("HSET", self._key("contact", phone), CHILD_FIELD + key, ""))
        writes.append(("SET", self._key("obj", key), f"{child.ghl_id} {child.contact_id}",
                       "EX", IDMAP_TTL_S))
        if key in self._old_intents:
            writes.append(("DEL", self._key("intent", key)))
        self._direct.calls(*writes)
        self._old_intents.discard(key)

    def forget(self, key: str, phone: str | None = None) -> None:
        """Forget ``key``'s GHL object (deleted, or gone from GHL), and its intent: in the
        hash of ``phone`` (default: the phone this delivery's begin script read ``key``
        with; without one, an intent left there makes the next create look in GHL first)."""
        self._drop(key, phone)

    def _drop(self, key: str, phone: str | None) -> None:
        phone = phone or _phone_of(key)
        _drop_prefetched(*_child_parts(key))
        writes: list[tuple[EncodableT, ...]] = [
            ("DEL", self._key("obj", key), self._key("intent", key))]
        if phone is not None:
            writes.append(("HDEL", self._key("contact", phone), CHILD_FIELD + key))
        self._direct.calls(*writes)
        self._old_intents.discard(key)

    def mark_intent(self, key: str, contact_id: str, phone: str) -> None:
        """Record that ``key`` is about to be created on ``contact_id`` (before the create;
        ``key`` has no entry): one ``HSET`` of its field in ``phone``'s hash, which is
        both the phone's index of it and the intent."""
        _drop_prefetched(*_child_parts(key))
        self._direct.call("HSET", self._key("contact", phone), CHILD_FIELD + key, contact_id)

    def intent(self, key: str, phone: str | None = None) -> str | None:
        """The contact id of an earlier, unfinished create of ``key``, a child of ``phone``
        (default: the phone this delivery's begin script read ``key`` with), or None.

        Without a phone only the intents of the layout before are seen."""
        entry, moved = self._obj(key, "intent")
        if entry is not None:
            return None
        phone = phone or _phone_of(key)
        if phone is not None:
            ahead = _take("field", key, "intent")
            field = _text(self._redis.hget(self._key("contact", phone), CHILD_FIELD + key)
                          if ahead is _MISSING else ahead)
            if field:
                return field
        if moved is not None:  # an intent of the layout before, moved into its obj key
            return moved
        ahead = _take("legacy", key, "intent")  # the old layout's intent key
        if ahead is _MISSING and phone is not None and _clean(phone):
            ahead = None  # this delivery's begin script moved the phone's old intents
        old = _text(self._redis.get(self._key("intent", key)) if ahead is _MISSING else ahead)
        if old is not None:
            self._old_intents.add(key)
        return old

    def clear_intent(self, key: str, phone: str | None = None) -> None:
        """Drop ``key``'s intent (the create surely wrote nothing; ``key`` has no entry),
        in the hash of ``phone`` (default as ``forget``)."""
        self._drop(key, phone)
