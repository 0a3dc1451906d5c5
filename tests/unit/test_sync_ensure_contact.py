"""ensure_contact: the id map first, else one upsert."""

from __future__ import annotations

import importlib
import time

import pytest

from clients.ghl.errors import GhlDuplicateContactError
from tests.unit.sync_support import make_context
from worker.idmap import IdMap
from worker.keys import object_lock_key
from worker.sync import ensure_contact
from worker.sync.context import HeldLock
from worker.sync.outcome import Deferred

PHONE = "+14155550177"


def test_unknown_phone_is_upserted_with_name_and_email_then_mapped() -> None:
    # Given a phone neither the id map nor GHL knows
    ctx = make_context()
    # When its contact is ensured with a name and an email
    contact_id = ensure_contact(PHONE, ctx, name="Ana López", email=" Ana@Example.com")
    # Then one upsert made it (after looking up who has the email), and the id map knows it
    assert ctx.client.calls == ["search_duplicate", "upsert_contact"]
    assert ctx.client.payloads[0][1] == {"number": None, "email": "ana@example.com"}
    assert ctx.client.payloads[1][1] == {
        "phone": PHONE, "name": "Ana López", "firstName": "Ana", "lastName": "López",
        "email": "ana@example.com", "source": "Toky"}
    assert IdMap.for_context(ctx).contact(PHONE) == contact_id


def test_known_phone_costs_no_call() -> None:
    ctx = make_context()
    IdMap.for_context(ctx).remember_contact(PHONE, "c-known")
    assert ensure_contact(PHONE, ctx, name="X") == "c-known"
    assert ctx.client.calls == []


def test_existing_ghl_contact_is_found_by_the_upsert_not_duplicated() -> None:
    ctx = make_context()
    ctx.client.contacts["c-old"] = {"id": "c-old", "phone": PHONE, "tags": ["vip"]}
    assert ensure_contact(PHONE, ctx) == "c-old"
    assert len(ctx.client.contacts) == 1
    assert IdMap.for_context(ctx).contact_tags(PHONE) == ["vip"]


def test_duplicate_refusal_by_phone_adopts_the_contact_ghl_names() -> None:
    ctx = make_context()
    ctx.client.fail("upsert_contact", GhlDuplicateContactError(
        "This location does not allow duplicated contacts.", status=400,
        body={"meta": {"contactId": "c-dup", "matchingField": "phone"}}))
    assert ensure_contact(PHONE, ctx, email="a@b.co") == "c-dup"
    assert IdMap.for_context(ctx).contact(PHONE) == "c-dup"


def test_duplicate_refusal_by_email_is_not_this_phones_contact() -> None:
    # Given GHL refusing the upsert because another contact has the email
    ctx = make_context()
    refusal = GhlDuplicateContactError(
        "This location does not allow duplicated contacts.", status=400,
        body={"meta": {"contactId": "c-other", "matchingField": "email"}})
    ctx.client.fail("upsert_contact", refusal)
    # Then the phone is not mapped to that contact (guarantee 3): the refusal stands
    with pytest.raises(GhlDuplicateContactError):
        ensure_contact(PHONE, ctx, email="a@b.co")
    assert IdMap.for_context(ctx).contact(PHONE) is None


def test_phone_being_made_by_another_worker_is_deferred_then_found(monkeypatch) -> None:
    # Given another worker holding the phone's making-contact lock (its contact's lock)
    module = importlib.import_module("worker.sync.ensure_contact")  # the name is also a function
    monkeypatch.setattr(module, "MAKING_LOCK_WAIT_S", 0.05)
    ctx = make_context()
    other = ctx.redis.lock(object_lock_key(ctx.settings.key_prefix, f"contact:{PHONE}"),
                           timeout=60)
    assert other.acquire()
    # When this worker needs the contact / Then it waits, then defers, sending nothing
    with pytest.raises(Deferred):
        ensure_contact(PHONE, ctx)
    assert ctx.client.calls == []
    # When the other worker mapped it and let go / Then it is used as is, still no call
    IdMap.for_context(ctx).remember_contact(PHONE, "c-other")
    other.release()
    assert ensure_contact(PHONE, ctx) == "c-other" and ctx.client.calls == []


def held_contact_lock(ctx, *, left_s: float) -> HeldLock:
    """The phone's contact lock taken as a contact event's delivery takes it."""
    key = object_lock_key(ctx.settings.key_prefix, f"contact:{PHONE}")
    assert ctx.redis.set(key, "delivery-token", nx=True, px=int(left_s * 1000))
    return HeldLock(key, "delivery-token", time.monotonic() + left_s)


def test_a_delivery_holding_the_contacts_lock_makes_it_without_taking_another() -> None:
    # Given a contact event's delivery holding its contact's lock, with time to spare
    ctx = make_context()
    ctx.held = held_contact_lock(ctx, left_s=60)
    # When the phone's contact is made / Then it is, and the lock stays the delivery's
    contact_id = ensure_contact(PHONE, ctx)
    assert ctx.client.calls[-1] == "upsert_contact"
    assert IdMap.for_context(ctx).contact(PHONE) == contact_id
    assert ctx.redis.get(ctx.held.key) == b"delivery-token"
    assert ctx.redis.pttl(ctx.held.key) > 50_000


def test_a_held_contact_lock_is_extended_to_last_one_upsert() -> None:
    # Given a delivery whose contact lock has less left than one upsert may take
    ctx = make_context()
    ctx.held = held_contact_lock(ctx, left_s=2)
    # When it makes the contact / Then the lock is extended first, still the delivery's
    ensure_contact(PHONE, ctx)
    assert ctx.redis.get(ctx.held.key) == b"delivery-token"
    assert ctx.redis.pttl(ctx.held.key) > 30_000


def test_a_held_contact_lock_lost_meanwhile_defers_and_sends_nothing() -> None:
    # Given a delivery whose contact lock expired and was taken by another worker
    ctx = make_context()
    held = held_contact_lock(ctx, left_s=2)
    ctx.redis.set(held.key, "another-token")
    ctx.held = held
    # When it would make the contact / Then it defers, sending nothing
    with pytest.raises(Deferred):
        ensure_contact(PHONE, ctx)
    assert ctx.client.calls == []
    assert ctx.redis.get(held.key) == b"another-token"
