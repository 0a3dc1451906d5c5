"""ensure_contact: the id map first, else one upsert."""

from __future__ import annotations

import importlib

import pytest

from clients.ghl.errors import GhlDuplicateContactError
from tests.unit.sync_support import make_context
from worker.idmap import IdMap
from worker.keys import sync_lock_key
from worker.sync import ensure_contact
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
    # Given another worker holding the phone's making-contact lock
    module = importlib.import_module("worker.sync.ensure_contact")  # the name is also a function
    monkeypatch.setattr(module, "MAKING_LOCK_WAIT_S", 0.05)
    ctx = make_context()
    other = ctx.redis.lock(sync_lock_key(ctx.settings.key_prefix, "making-contact", PHONE),
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
