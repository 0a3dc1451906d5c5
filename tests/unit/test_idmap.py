"""The id map in Redis: contacts by phone, children by Toky key, intents, clearing a phone."""

from __future__ import annotations

import fakeredis
import pytest

from worker.idmap import IDMAP_TTL_S, Child, IdMap, prefetched

PHONE = "+14155550134"


@pytest.fixture
def ids() -> IdMap:
    return IdMap(fakeredis.FakeRedis(), "test")


def test_contact_entry_keeps_id_tags_and_hash(ids: IdMap) -> None:
    # Given a contact remembered with its tags and payload hash
    ids.remember_contact(PHONE, "c1", tags=["a"], payload_hash="h1")
    # Then all three are read back
    assert (ids.contact(PHONE), ids.contact_tags(PHONE), ids.payload_hash(PHONE)) == \
        ("c1", ["a"], "h1")
    # When it is remembered again without tags or hash
    ids.remember_contact(PHONE, "c1")
    # Then the tags stay and the hash is forgotten (the next update must write)
    assert ids.contact_tags(PHONE) == ["a"]
    assert ids.payload_hash(PHONE) is None


@pytest.mark.parametrize("fresh", [False, True], ids=["first-today", "renewed-today"])
def test_writes_given_to_remember_contact_are_sent_with_it(fresh: bool) -> None:
    # Given an id map (its hash renewed today, or not: one write or three)
    client = fakeredis.FakeRedis()
    ids = IdMap(client, "test")
    values = {("fresh", PHONE): "c1"} if fresh else None
    # When a contact is remembered with another write (the mirror's fingerprint)
    with prefetched(values):
        ids.remember_contact(PHONE, "c1", payload_hash="h1",
                             also=(("HSET", "test:mirror:last", PHONE, "toky>ghl:fp"),))
    # Then both are written
    assert ids.contact(PHONE) == "c1" and ids.payload_hash(PHONE) == "h1"
    assert client.hget("test:mirror:last", PHONE) == b"toky>ghl:fp"


def test_child_put_drops_its_intent(ids: IdMap) -> None:
    # Given an intent written before a create
    ids.mark_intent("note:n1", "c1", PHONE)
    assert ids.intent("note:n1", PHONE) == "c1"
    # When the create's answer is recorded
    ids.put("note:n1", Child("g1", "c1"), PHONE)
    # Then the entry is there and the intent is gone
    assert ids.get("note:n1") == Child("g1", "c1")
    assert ids.intent("note:n1", PHONE) is None


def test_forget_phone_clears_contact_children_and_intents(ids: IdMap) -> None:
    # Given a contact, a child and an unfinished intent under one phone, and another phone
    ids.remember_contact(PHONE, "c1", tags=["a"])
    ids.put("call:x", Child("n1", "c1"), PHONE)
    ids.mark_intent("task:t", "c1", PHONE)
    ids.remember_contact("+14155550177", "c2")
    ids.put("call:y", Child("n2", "c2"), "+14155550177")
    # When the phone is forgotten
    cleared = ids.forget_phone(PHONE)
    # Then everything under it is gone, the other phone untouched
    assert cleared == 2
    assert ids.contact(PHONE) is None and ids.get("call:x") is None
    assert ids.intent("task:t") is None
    assert ids.contact("+14155550177") == "c2" and ids.get("call:y") == Child("n2", "c2")


def test_keys_live_under_the_prefix() -> None:
    # Given an id map under prefix "p1"
    redis = fakeredis.FakeRedis()
    IdMap(redis, "p1").put("note:n1", Child("g1", "c1"), PHONE)
    # Then another prefix does not see it, and every key starts with the prefix
    assert IdMap(redis, "p2").get("note:n1") is None
    assert all(k.startswith(b"p1:idmap:") for k in redis.keys("*"))


def test_every_key_of_the_map_expires_a_year_after_its_last_use() -> None:
    # Given a map with a contact, a child and an unfinished create
    client = fakeredis.FakeRedis()
    ids = IdMap(client, "test")
    ids.remember_contact(PHONE, "c1", tags=["a"], payload_hash="h1")
    ids.put("call:1", Child("n1", "c1"), PHONE)
    ids.mark_intent("task:9", "c1", PHONE)
    # Then every key it wrote has a lifetime of a year (none lives forever)
    keys = [k.decode() for k in client.scan_iter("test:idmap:*")]
    assert sorted(keys) == ["test:idmap:contact:" + PHONE, "test:idmap:obj:call:1",
                            "test:idmap:owner:c1"]
    assert all(IDMAP_TTL_S - 5 <= client.ttl(k) <= IDMAP_TTL_S for k in keys)
    # When time passes and the entries are read again, their year starts again
    for key in keys:
        client.expire(key, 60)
    assert ids.contact(PHONE) == "c1" and ids.get("call:1") == Child("n1", "c1")
    assert client.ttl("test:idmap:contact:" + PHONE) > IDMAP_TTL_S - 5
    assert client.ttl("test:idmap:obj:call:1") > IDMAP_TTL_S - 5
    # And an unknown key read through the map is not created
    assert ids.get("call:unknown") is None and not client.exists("test:idmap:obj:call:unknown")


def test_each_contact_has_one_owner_phone_and_forgetting_frees_it() -> None:
    # Given two phones mapped to their own contacts
    ids = IdMap(fakeredis.FakeRedis(), "t")
    ids.remember_contact("+15125550301", "c-maria")
    ids.remember_contact("+15125550302", "c-pedro")
    # Then each contact names its phone
    assert (ids.owner("c-maria"), ids.owner("c-pedro")) == ("+15125550301", "+15125550302")
    # When a phone is re-mapped, its old contact has no owner any more
    ids.remember_contact("+15125550302", "c-pedro-2")
    assert ids.owner("c-pedro") is None and ids.owner("c-pedro-2") == "+15125550302"
    # When a phone is forgotten (its contact gone, or deleted), so is its ownership
    ids.forget_contact("+15125550301")
    ids.forget_phone("+15125550302")
    assert ids.owner("c-maria") is None and ids.owner("c-pedro-2") is None


@pytest.mark.parametrize("bad_id", ["..", ".", "", "a/b", "x" * 65])
def test_an_id_that_is_not_a_ghl_id_is_never_remembered(ids: IdMap, bad_id: str) -> None:
    # Given an answer whose id could address another path (GHL never sends one)
    # When it would be remembered / Then it is refused, and nothing is stored
    with pytest.raises(ValueError, match="not a GHL id"):
        ids.remember_contact("+14155550134", bad_id)
    with pytest.raises(ValueError, match="not a GHL id"):
        ids.put("call:c-1", Child(ghl_id=bad_id, contact_id="ve9EPM428h8vShlRW1KT"),
                "+14155550134")
    assert ids.contact("+14155550134") is None and ids.get("call:c-1") is None


def test_a_contact_renewed_today_is_rewritten_in_place_and_keeps_its_lifetime() -> None:
    # Given a contact whose hash a delivery's begin script found renewed today
    client = fakeredis.FakeRedis()
    ids = IdMap(client, "t")
    ids.remember_contact(PHONE, "c1", tags=["a"], payload_hash="h1")
    ahead = ids.ahead(PHONE, None)
    read = [b"c1", b'["a"]', b"h1", str(ahead.args[0]).encode()]
    # When the delivery writes the same contact, then another one
    with prefetched(ahead.values([read, None, None])):
        ids.remember_contact(PHONE, "c1", tags=["a", "b"], payload_hash="h2")
        assert (ids.contact_tags(PHONE), ids.payload_hash(PHONE)) == (["a", "b"], "h2")
        assert client.ttl("t:idmap:contact:" + PHONE) > IDMAP_TTL_S - 5
        ids.remember_contact(PHONE, "c2")
    # Then each write is there, with its lifetime and owner
    assert ids.contact(PHONE) == "c2" and ids.owner("c2") == PHONE and ids.owner("c1") is None
    assert client.ttl("t:idmap:owner:c2") > IDMAP_TTL_S - 5
