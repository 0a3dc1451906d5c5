"""contact.* handlers: one contact per phone, unchanged skip, tags kept, delete paths."""

from __future__ import annotations

import pytest

from clients.ghl.errors import GhlNotFoundError, GhlServerError
from tests.unit.sync_support import apply, apply_counting, event, make_context, samples
from worker.idmap import Child, IdMap

PHONE = "+14155550134"


def test_created_upserts_the_contract_fields() -> None:
    # Given a fresh sub-account and sample s-001
    ctx = make_context()
    # When it is applied
    outcome, calls = apply_counting(samples()["s-001"], ctx)
    # Then one upsert made exactly the contract's contact (after looking up who has the
    # email: guarantee 3, one phone one contact)
    assert calls == ["search_duplicate", "upsert_contact"]
    assert outcome.status == "applied"
    contact = ctx.client.contact_by_phone(PHONE)
    assert {k: contact.get(k) for k in ("name", "firstName", "lastName", "email", "phone",
                                         "city", "country", "source")} == {
        "name": "Lena Park", "firstName": "Lena", "lastName": "Park",
        "email": "lena.park@example.com", "phone": PHONE, "city": "San Francisco",
        "country": "US", "source": "Toky"}
    assert "inbound" in contact["tags"]
    assert IdMap.for_context(ctx).contact(PHONE) == contact["id"] == outcome.ghl_ids["contact"]


def test_update_of_a_known_contact_is_one_put_without_location() -> None:
    # Given s-001 applied
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    # When s-002 (a new name and email, an unmapped extra field) is applied
    outcome, calls = apply_counting(samples()["s-002"], ctx)
    # Then one PUT changed the same contact; the extra field is not sent
    assert calls == ["update_contact"]
    method, payload = ctx.client.payloads[-1]
    assert "locationId" not in payload and "company" not in payload
    contact = ctx.client.contact_by_phone(PHONE)
    assert (contact["name"], contact["lastName"], contact["email"]) == \
        ("Lena Park-Moreau", "Park-Moreau", "lena@example.com")
    assert len(ctx.client.contacts) == 1 and outcome.detail == "contact updated"


def test_same_contact_again_sends_nothing() -> None:
    # Given s-001 applied
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    # When the same contact arrives again under another event id
    again = {**samples()["s-001"], "id": "s-001-bis"}
    outcome, calls = apply_counting(again, ctx)
    # Then no request is sent
    assert calls == []
    assert (outcome.status, outcome.detail) == ("skipped", "unchanged")


def test_changed_contact_after_skip_is_written() -> None:
    ctx = make_context()
    apply(event("contact.updated", {"phone": PHONE, "city": "Austin"}), ctx)
    apply(event("contact.updated", {"phone": PHONE, "city": "Austin"}), ctx)
    _, calls = apply_counting(event("contact.updated", {"phone": PHONE, "city": "Boston"}), ctx)
    assert calls == ["update_contact"]
    assert ctx.client.contact_by_phone(PHONE)["city"] == "Boston"


def test_known_contact_with_a_field_put_refuses_is_upserted() -> None:
    # Given a field map sending companyName (GHL's PUT refuses it) and a known contact
    ctx = make_context(field_map={"standard": {"companyName": "company"}})
    apply(samples()["s-001"], ctx)
    # When s-002 (with a company) is applied
    outcome, calls = apply_counting(samples()["s-002"], ctx)
    # Then one upsert updated the same contact (after looking up who has the email)
    assert calls == ["search_duplicate", "upsert_contact"]
    (contact,) = ctx.client.contacts.values()
    assert contact["companyName"] == "Moreau Design" and outcome.ghl_ids["contact"] == contact["id"]


def test_put_404_forgets_the_contact_and_upserts() -> None:
    # Given a contact the id map knows but GHL deleted meanwhile
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    old_id = IdMap.for_context(ctx).contact(PHONE)
    del ctx.client.contacts[old_id]
    # When it is updated
    outcome, calls = apply_counting(samples()["s-002"], ctx)
    # Then the PUT's 404 led to one upsert, which made it again and re-mapped it
    assert calls == ["update_contact", "search_duplicate", "upsert_contact"]
    new_id = IdMap.for_context(ctx).contact(PHONE)
    assert new_id != old_id and new_id in ctx.client.contacts
    assert outcome.ghl_ids["contact"] == new_id


def test_update_with_tags_keeps_tags_ghl_reported() -> None:
    # Given a contact tagged "inbound" (s-001) and then "priority" (s-003)
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    apply(samples()["s-003"], ctx)
    # When an update carries tags ["lead"] (GHL replaces tags on PUT)
    apply(event("contact.updated", {"phone": PHONE, "tags": ["lead"]}), ctx)
    # Then the contact's tags include the event's AND the earlier ones
    assert set(ctx.client.contact_by_phone(PHONE)["tags"]) >= {"inbound", "priority", "lead"}


def test_update_without_tags_sends_no_tags() -> None:
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    apply(samples()["s-002"], ctx)
    assert "tags" not in ctx.client.payloads[-1][1]
    assert ctx.client.contact_by_phone(PHONE)["tags"] == ["inbound"]


def test_tags_added_and_removed_on_a_known_contact() -> None:
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    # When tags are added (s-003)
    _, calls = apply_counting(samples()["s-003"], ctx)
    # Then one call, and the contact has them
    assert calls == ["add_tags"]
    assert ctx.client.contact_by_phone(PHONE)["tags"] == ["inbound", "priority"]
    # When one is removed
    outcome, calls = apply_counting(
        event("contact.tags_removed", {"phone": PHONE, "tags": ["inbound"]}), ctx)
    assert calls == ["remove_tags"] and outcome.status == "applied"
    assert ctx.client.contact_by_phone(PHONE)["tags"] == ["priority"]


def test_tags_added_for_an_unknown_phone_makes_the_contact_first() -> None:
    ctx = make_context()
    _, calls = apply_counting(samples()["s-003"], ctx)
    assert calls == ["upsert_contact", "add_tags"]
    assert ctx.client.contact_by_phone(PHONE)["tags"] == ["priority"]


def test_tags_removed_for_a_phone_ghl_does_not_know_is_skipped() -> None:
    ctx = make_context()
    outcome, calls = apply_counting(
        event("contact.tags_removed", {"phone": PHONE, "tags": ["x"]}), ctx)
    assert calls == ["search_duplicate"]
    assert outcome.status == "skipped" and PHONE in outcome.detail
    assert ctx.client.contacts == {}


def test_delete_of_a_mapped_contact_clears_its_id_map_entries() -> None:
    # Given a contact with a call note, both in the id map
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    apply(samples()["s-004"], ctx)
    ids = IdMap.for_context(ctx)
    assert ids.get("call:8c1e5d02-77a1-4f5e-9d1c-0b7f3c2a9e11") is not None
    # When the contact is deleted
    outcome, calls = apply_counting(event("contact.deleted", {"phone": PHONE}), ctx)
    # Then one DELETE, and nothing is left in GHL or the id map for that phone
    assert calls == ["delete_contact"] and outcome.status == "applied"
    assert ctx.client.contacts == {} and ctx.client.notes == {}
    assert ids.contact(PHONE) is None
    assert ids.get("call:8c1e5d02-77a1-4f5e-9d1c-0b7f3c2a9e11") is None


def test_delete_of_an_unmapped_contact_searches_by_phone() -> None:
    # Given a contact GHL has but the id map does not (made by someone else)
    ctx = make_context()
    ctx.client.contacts["c-other"] = {"id": "c-other", "phone": PHONE, "tags": []}
    # When deleted
    outcome, calls = apply_counting(event("contact.deleted", {"phone": PHONE}), ctx)
    # Then found by search and deleted
    assert calls == ["search_duplicate", "delete_contact"]
    assert outcome.ghl_ids == {"contact": "c-other"} and ctx.client.contacts == {}


def test_delete_of_a_contact_ghl_never_had_is_skipped() -> None:
    # Given a leftover id map entry for a child of this phone, and no contact in GHL
    ctx = make_context()
    IdMap.for_context(ctx).put("note:n", Child("n1", "c9"), "+14155550177")
    # When sample s-012 deletes it
    outcome, calls = apply_counting(samples()["s-012"], ctx)
    # Then skipped with the phone named, and the leftover cleared
    assert calls == ["search_duplicate"]
    assert (outcome.status, outcome.detail) == ("skipped", "GHL has no contact for +14155550177")
    assert IdMap.for_context(ctx).get("note:n") is None


def test_delete_when_the_mapped_contact_is_already_gone() -> None:
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    ctx.client.contacts.clear()
    outcome, calls = apply_counting(event("contact.deleted", {"phone": PHONE}), ctx)
    assert calls == ["delete_contact", "search_duplicate"]
    assert outcome.status == "skipped"


def test_ghl_errors_propagate_and_leave_the_map_alone() -> None:
    # Given GHL failing the upsert with a 503
    ctx = make_context()
    ctx.client.fail("upsert_contact", GhlServerError("unavailable", status=503))
    # When applied / Then the error reaches the pipeline and nothing is mapped
    with pytest.raises(GhlServerError):
        apply(samples()["s-001"], ctx)
    assert IdMap.for_context(ctx).contact(PHONE) is None


def test_put_404_then_failed_upsert_leaves_no_stale_mapping() -> None:
    # Given a mapped contact whose PUT answers 404 and whose upsert then fails
    ctx = make_context()
    apply(samples()["s-001"], ctx)
    ctx.client.fail("update_contact", GhlNotFoundError("Not found", status=404))
    ctx.client.fail("upsert_contact", GhlServerError("down", status=500))
    # When updated / Then the error propagates and the stale id is no longer mapped
    with pytest.raises(GhlServerError):
        apply(samples()["s-002"], ctx)
    assert IdMap.for_context(ctx).contact(PHONE) is None
