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
from dataclasses import dataclass
from typing import Any, cast

import redis

from producers.ids import GHL_ID_RULE, is_ghl_id
from toky_ghl.redis_conn import HashFields, text
from worker.keys import idmap_key
from worker.versions import VERSION_TTL_S

#: How long an id-map entry lives after its object was last written or read, in seconds.
IDMAP_TTL_S = VERSION_TTL_S


@dataclass(frozen=True)
class Child:
    """A GHL child object: its id and the id of the contact it belongs to."""

    ghl_id: str
    contact_id: str


def _ghl_id(value: str, what: str) -> str:
    """``value`` when it is a GHL id (``producers.ids``); an id that could address another
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

    @classmethod
    def for_context(cls, ctx: Any) -> IdMap:
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

    def contact(self, phone: str) -> str | None:
        """The GHL contact id of ``phone``, or None when unknown."""
        return _text(self._read(self._key("contact", phone), "hget", "id"))

    def owner(self, contact_id: str) -> str | None:
        """The phone mapped to GHL contact ``contact_id``, or None when no phone is."""
        return _text(self._read(self._key("owner", contact_id), "get"))

    def contact_tags(self, phone: str) -> list[str] | None:
        """The contact's tags as GHL last reported them, or None when unknown."""
        raw = _text(self._redis.hget(self._key("contact", phone), "tags"))
        return None if raw is None else json.loads(raw)

    def payload_hash(self, phone: str) -> str | None:
        """The hash of the contact payload last written for ``phone``, or None."""
        return _text(self._redis.hget(self._key("contact", phone), "hash"))

    def remember_contact(
        self, phone: str, contact_id: str, *, tags: list[str] | None = None,
        payload_hash: str | None = None,
    ) -> None:
        """Map ``phone`` to ``contact_id``. ``tags`` None keeps the known tags;
        ``payload_hash`` None forgets the last payload's hash (the next update writes)."""
        _ghl_id(contact_id, "the GHL contact id")
        key = self._key("contact", phone)
        before = _text(self._redis.hget(key, "id"))  # its lifetime is renewed below
        fields = {"id": contact_id}
        if tags is not None:
            fields["tags"] = json.dumps(list(tags))
        if payload_hash is not None:
            fields["hash"] = payload_hash
        with self._redis.pipeline() as pipe:
            if before is not None and before != contact_id:
                pipe.delete(self._key("owner", before))
            pipe.hset(key, mapping=cast(HashFields, fields))  # one command (each counts in Redis)
            pipe.set(self._key("owner", contact_id), phone, ex=IDMAP_TTL_S)
            if payload_hash is None:
                pipe.hdel(key, "hash")
            pipe.expire(key, IDMAP_TTL_S)
            pipe.expire(self._key("phone", phone), IDMAP_TTL_S)
            pipe.execute()

    def forget_payload_hash(self, phone: str) -> None:
        """Forget the hash of the payload last written for ``phone`` (GHL was changed by
        someone else, e.g. the GHL → Toky mirror saw an edit): the next update writes."""
        self._redis.hdel(self._key("contact", phone), "hash")

    def forget_contact(self, phone: str) -> None:
        """Forget the contact of ``phone`` (GHL no longer has it); children stay."""
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
        raw = self._read(self._key("obj", key), "hgetall")
        if not raw:
            return None
        entry = {text(k): text(v) for k, v in raw.items()}
        return Child(ghl_id=entry["ghl_id"], contact_id=entry["contact_id"])

    def put(self, key: str, child: Child, phone: str) -> None:
        """Map ``key`` to ``child`` (right after the create) and drop its intent."""
        _ghl_id(child.ghl_id, f"the GHL id of {key}")
        _ghl_id(child.contact_id, "the GHL contact id")
        with self._redis.pipeline() as pipe:
            pipe.hset(self._key("obj", key),
                      mapping={"ghl_id": child.ghl_id, "contact_id": child.contact_id})
            pipe.sadd(self._key("phone", phone), key)
            pipe.delete(self._key("intent", key))
            pipe.expire(self._key("obj", key), IDMAP_TTL_S)
            pipe.expire(self._key("phone", phone), IDMAP_TTL_S)
            pipe.execute()

    def forget(self, key: str) -> None:
        """Forget ``key``'s GHL object (deleted, or gone from GHL)."""
        self._redis.delete(self._key("obj", key), self._key("intent", key))

    def mark_intent(self, key: str, contact_id: str, phone: str) -> None:
        """Record that ``key`` is about to be created on ``contact_id`` (before the create)."""
        with self._redis.pipeline() as pipe:
            pipe.set(self._key("intent", key), contact_id, ex=IDMAP_TTL_S)
            pipe.sadd(self._key("phone", phone), key)
            pipe.expire(self._key("phone", phone), IDMAP_TTL_S)
            pipe.execute()

    def intent(self, key: str) -> str | None:
        """The contact id of an earlier, unfinished create of ``key``, or None."""
        return _text(self._redis.get(self._key("intent", key)))

    def clear_intent(self, key: str) -> None:
        """Drop ``key``'s intent (the create surely wrote nothing)."""
        self._redis.delete(self._key("intent", key))
