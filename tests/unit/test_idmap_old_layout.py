"""Data compatibility: an id map written by the version before (``obj`` hashes, intents
in ``intent:*``, the phone's index in ``phone:*``) is read, and its unfinished creates
are still recovered, by this one (``worker.idmap``)."""

from __future__ import annotations

import json
from typing import Any

import fakeredis
import pytest

from tests.unit.fake_ghl import FakeGhl
from tests.unit.sync_support import samples
from toky_ghl.settings import Settings
from worker.fieldmap import load_field_map
from worker.idmap import IDMAP_TTL_S, Child, IdMap
from worker.pipeline import PipelineDeps, process

PHONE = "+14155550134"
CALL_KEY = "call:8c1e5d02-77a1-4f5e-9d1c-0b7f3c2a9e11"
WRITE = frozenset({"contacts.readonly", "contacts.write", "calendars/events.readonly",
                   "calendars/events.write"})

# The previous version's write scripts, verbatim: they define the old layout.
_OLD_REMEMBER_CONTACT_LUA = """
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
_OLD_PUT_LUA = """
redis.call('HSET', KEYS[1], 'ghl_id', ARGV[1], 'contact_id', ARGV[2])
if ARGV[5] ~= '1' then
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
redis.call('DEL', KEYS[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
_OLD_MARK_INTENT_LUA = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""


class OldIdMap:
    """The previous version's writes, under ``prefix``."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.redis, self.prefix = client, prefix

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:idmap:{kind}:{name}"

    def remember_contact(self, phone: str, contact_id: str, *, tags: list[str] | None = None,
                         payload_hash: str | None = None) -> None:
        self.redis.register_script(_OLD_REMEMBER_CONTACT_LUA)(
            keys=[self.key("contact", phone), self.key("owner", contact_id),
                  self.key("phone", phone)],
            args=[contact_id, phone, IDMAP_TTL_S, "" if tags is None else json.dumps(tags),
                  payload_hash or "", self.key("owner", "")])

    def put(self, key: str, child: Child, phone: str) -> None:
        self.redis.register_script(_OLD_PUT_LUA)(
            keys=[self.key("obj", key), self.key("phone", phone), self.key("intent", key)],
            args=[child.ghl_id, child.contact_id, key, IDMAP_TTL_S, "0"])

    def mark_intent(self, key: str, contact_id: str, phone: str) -> None:
        self.redis.register_script(_OLD_MARK_INTENT_LUA)(
            keys=[self.key("intent", key), self.key("phone", phone)],
            args=[contact_id, key, IDMAP_TTL_S])


def test_entries_of_the_old_layout_are_read() -> None:
    # Given a contact, a child and an unfinished create written by the version before
    client = fakeredis.FakeRedis()
    old = OldIdMap(client, "t")
    old.remember_contact(PHONE, "c1", tags=["vip"], payload_hash="h1")
    old.put("call:1", Child("n1", "c1"), PHONE)
    old.mark_intent("task:9", "c1", PHONE)
    # When this version reads them
    ids = IdMap(client, "t")
    # Then it finds each one as the old version would
    assert (ids.contact(PHONE), ids.contact_tags(PHONE), ids.payload_hash(PHONE)) == \
        ("c1", ["vip"], "h1")
    assert ids.owner("c1") == PHONE
    assert ids.get("call:1") == Child("n1", "c1") and ids.intent("call:1") is None
    assert ids.get("task:9") is None and ids.intent("task:9") == "c1"
    # And an old entry read through the map has its year started again
    client.expire("t:idmap:obj:call:1", 60)
    assert ids.get("call:1") == Child("n1", "c1")
    assert client.ttl("t:idmap:obj:call:1") > IDMAP_TTL_S - 5


def test_an_old_intent_is_settled_by_the_new_entry() -> None:
    # Given an unfinished create of the version before
    client = fakeredis.FakeRedis()
    OldIdMap(client, "t").remember_contact(PHONE, "c1")
    OldIdMap(client, "t").mark_intent("note:n1", "c1", PHONE)
    ids = IdMap(client, "t")
    # When this version finds it and records the adopted object
    assert ids.intent("note:n1") == "c1"
    ids.put("note:n1", Child("g1", "c1"), PHONE)
    # Then the entry is there and the old intent is gone
    assert ids.get("note:n1") == Child("g1", "c1") and ids.intent("note:n1") is None
    assert not client.exists("t:idmap:intent:note:n1")


def test_forgetting_a_phone_clears_children_of_both_layouts() -> None:
    # Given a phone whose children were written partly by the version before
    client = fakeredis.FakeRedis()
    old = OldIdMap(client, "t")
    old.remember_contact(PHONE, "c1")
    old.put("call:old", Child("n1", "c1"), PHONE)
    old.mark_intent("task:old", "c1", PHONE)
    ids = IdMap(client, "t")
    ids.put("call:new", Child("n2", "c1"), PHONE)
    ids.mark_intent("task:new", "c1", PHONE)
    # When the phone is forgotten (its contact deleted)
    cleared = ids.forget_phone(PHONE)
    # Then every child and intent of it is gone, in either layout, and so is its owner
    assert cleared == 4
    assert [ids.get(k) for k in ("call:old", "call:new")] == [None, None]
    assert [ids.intent(k) for k in ("task:old", "task:new")] == [None, None]
    assert ids.contact(PHONE) is None and ids.owner("c1") is None
    assert list(client.scan_iter("t:idmap:*")) == []


def _deps(ghl: FakeGhl, client: Any) -> PipelineDeps:
    settings = Settings(ghl_token="tok", ghl_location_id="loc", ghl_scopes=WRITE,
                        ghl_calendar_id="cal", ghl_retry_max_attempts=3)
    return PipelineDeps(settings=settings, redis=client, client=ghl,
                        field_map=load_field_map(None), rand=lambda: 0.5)


def _as_old_layout(client: Any, phone: str) -> None:
    """Rewrite ``phone``'s contact and children as the version before left them."""
    old, prefix = OldIdMap(client, "tokyghl"), "tokyghl:idmap:"
    fields = {k.decode(): v.decode() for k, v in
              client.hgetall(f"{prefix}contact:{phone}").items()}
    client.delete(f"{prefix}contact:{phone}")
    tags = json.loads(fields["tags"]) if fields.get("tags") else None
    old.remember_contact(phone, fields["id"], tags=tags, payload_hash=fields.get("hash"))
    for name, intent in ((f[2:], v) for f, v in fields.items() if f.startswith("c:")):
        value = (client.get(f"{prefix}obj:{name}") or b"").decode()
        client.delete(f"{prefix}obj:{name}")
        if value:
            ghl_id, contact_id = value.split(" ")
            old.put(name, Child(ghl_id, contact_id), phone)
        elif intent:
            old.mark_intent(name, intent, phone)


@pytest.fixture(params=["fakeredis", "redis"])
def client(request: pytest.FixtureRequest) -> Any:
    """fakeredis, then a real Redis (the begin script's Lua as Redis runs it)."""
    if request.param == "fakeredis":
        return fakeredis.FakeRedis()
    return request.getfixturevalue("real_redis")


@pytest.mark.parametrize("what", ["note whose answer was lost", "note mapped"])
def test_a_call_left_by_the_old_version_is_never_noted_twice(what: str, client: Any) -> None:
    # Given a contact and its call's note written by the version before: the note's
    # answer lost after GHL made it (an intent, no entry), or the note mapped
    ghl = FakeGhl()
    deps = _deps(ghl, client)
    assert process(samples()["s-001"], deps).kind == "applied"
    if what == "note whose answer was lost":
        ghl.lose_answer("create_note")
        assert process(samples()["s-004"], deps).kind == "retry"
    else:
        assert process(samples()["s-004"], deps).kind == "applied"
    assert len(ghl.notes) == 1
    _as_old_layout(client, PHONE)
    assert client.type(f"tokyghl:idmap:obj:{CALL_KEY}") in (b"none", b"hash")
    # When this version delivers the call (again, or a later event of the same call)
    again = {**samples()["s-004"], "id": "s-004-again", "occurred_at": "2026-11-02T10:05:00Z"}
    decision = process(again, deps)
    # Then GHL still holds one note for it, now mapped in this version's layout
    assert decision.kind == "applied", decision.detail
    assert len(ghl.notes) == 1
    (note_id,) = ghl.notes
    assert IdMap(client, "tokyghl").get(CALL_KEY).ghl_id == note_id
    assert decision.ghl_ids["note"] == note_id
    assert not client.exists(f"tokyghl:idmap:intent:{CALL_KEY}")
