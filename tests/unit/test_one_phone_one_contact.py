"""Guarantee 3, one phone one contact, against GHL's email-first matching.

Every scenario runs against the fake and the simulator behind the real client
(``any_ghl``), with the location refusing duplicate contacts (GHL's default) and
allowing them (the "Allow Duplicate Contact" setting).
"""

from __future__ import annotations

import re

import pytest

from tests.unit.sync_support import apply, event, make_context
from worker.conflicts import ConflictStore
from worker.idmap import IdMap
from worker.pipeline import PipelineDeps, process
from worker.sync.outcome import Unprocessable

MARIA, PEDRO = "+15125550301", "+15125550302"
EMAIL = "family@example.com"


def maria(**data) -> dict:
    return event("contact.created", {"phone": MARIA, "contact_name": "Maria Family",
                                     "email": EMAIL, **data}, event_id="maria")


def pedro(**data) -> dict:
    return event("contact.created", {"phone": PEDRO, "contact_name": "Pedro Family",
                                     "email": EMAIL, **data}, event_id="pedro",
                 occurred_at="2026-11-02T12:01:00Z")


def conflicts(ctx) -> ConflictStore:
    return ConflictStore(ctx.redis, ctx.settings.key_prefix)


@pytest.fixture(params=[False, True], ids=["duplicates-refused", "duplicates-allowed"])
def ghl(any_ghl, request):
    any_ghl.allow_duplicates = request.param
    return any_ghl


def test_a_second_phone_with_the_same_email_gets_a_contact_of_its_own(ghl):
    # Given Maria's contact in GHL
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    # When Pedro arrives with the same email
    outcome = apply(pedro(), ctx)
    # Then Maria's contact is untouched and Pedro has his own
    assert outcome.status == "applied"
    mine, his = ghl.contact_by_phone(MARIA), ghl.contact_by_phone(PEDRO)
    assert (mine["name"], mine["email"]) == ("Maria Family", EMAIL)
    assert his is not None and his["id"] != mine["id"] and his["name"] == "Pedro Family"
    assert len(ghl.contacts) == 2
    # and each phone maps to its own contact
    ids = IdMap.for_context(ctx)
    assert (ids.contact(MARIA), ids.contact(PEDRO)) == (mine["id"], his["id"])
    assert (ids.owner(mine["id"]), ids.owner(his["id"])) == (MARIA, PEDRO)
    # and the email is on Pedro's contact only where the location allows duplicates
    assert (his.get("email") == EMAIL) is ghl.allow_duplicates
    # and the conflict is recorded for the operator
    (entry,) = conflicts(ctx).list()
    assert entry.email == EMAIL
    assert entry.contacts == {MARIA: mine["id"], PEDRO: his["id"]}
    assert entry.email_on == ([MARIA, PEDRO] if ghl.allow_duplicates else [MARIA])


def test_omit_email_never_puts_the_shared_email_on_a_second_contact(ghl):
    ctx = make_context(client=ghl, contact_email_conflict="omit-email")
    apply(maria(), ctx)
    apply(pedro(), ctx)
    assert not ghl.contact_by_phone(PEDRO).get("email")
    assert ghl.contact_by_phone(MARIA)["email"] == EMAIL
    assert conflicts(ctx).get(EMAIL).email_on == [MARIA]


def test_the_email_case_does_not_let_the_second_phone_in(ghl):
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    apply(pedro(email="  Family@Example.COM"), ctx)
    assert ghl.contact_by_phone(MARIA)["name"] == "Maria Family"
    assert len(ghl.contacts) == 2
    assert conflicts(ctx).count() == 1


def test_a_call_from_the_second_phone_makes_its_own_contact(ghl):
    # Given Maria's contact
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    # When a call from Pedro's phone carries Maria's email
    call = event("call.ended", {"callid": "c-1", "direction": "inbound", "state": "completed",
                                "from_number": PEDRO, "to_number": "+15125559999",
                                "contact_name": "Pedro Family", "contact_email": EMAIL},
                 event_id="call-1")
    apply(call, ctx)
    # Then the note hangs on Pedro's own contact, Maria's is untouched
    mine, his = ghl.contact_by_phone(MARIA), ghl.contact_by_phone(PEDRO)
    assert mine["name"] == "Maria Family" and his["id"] != mine["id"]
    assert ghl.notes_of(his["id"]) and not ghl.notes_of(mine["id"])
    assert set(conflicts(ctx).get(EMAIL).contacts) == {MARIA, PEDRO}


def test_the_second_phone_taking_the_email_later_keeps_the_first_contact(ghl):
    # Given both contacts, Pedro's without an email
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    apply(event("contact.created", {"phone": PEDRO, "contact_name": "Pedro Family"},
                event_id="p0"), ctx)
    # When Pedro's contact is updated with Maria's email
    outcome = apply(event("contact.updated", {"phone": PEDRO, "contact_name": "Pedro F.",
                                              "email": EMAIL}, event_id="p1"), ctx)
    # Then Pedro's contact has the new name; Maria's is whole
    assert outcome.status == "applied"
    mine, his = ghl.contact_by_phone(MARIA), ghl.contact_by_phone(PEDRO)
    assert (mine["name"], mine["phone"], mine["email"]) == ("Maria Family", MARIA, EMAIL)
    assert his["name"] == "Pedro F." and his["id"] != mine["id"]
    if not ghl.allow_duplicates:  # GHL refused the email: updated without it, recorded
        assert not his.get("email")
        assert set(conflicts(ctx).get(EMAIL).contacts) == {MARIA, PEDRO}


def test_a_contact_with_the_email_and_no_phone_is_taken_as_this_phones(ghl):
    # Given a GHL contact with the email and no phone (e.g. from a web form)
    ctx = make_context(client=ghl)
    lead, _ = ghl.upsert_contact({"email": EMAIL, "name": "Web Lead"})
    # When Maria's contact arrives
    apply(maria(), ctx)
    # Then that contact is Maria's: no second one, no conflict
    assert len(ghl.contacts) == 1
    assert ghl.contact_by_phone(MARIA)["id"] == lead["id"]
    assert conflicts(ctx).count() == 0


def test_repeats_of_the_second_phone_touch_neither_contact_again(ghl):
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    apply(pedro(), ctx)
    before = ghl.contacts
    apply(event("contact.updated", {"phone": PEDRO, "contact_name": "Pedro Family",
                                    "email": EMAIL, "city": "Austin"}, event_id="p2"), ctx)
    after = ghl.contacts
    assert len(after) == 2
    assert after[IdMap.for_context(ctx).contact(MARIA)] == before[
        IdMap.for_context(ctx).contact(MARIA)]
    assert ghl.contact_by_phone(PEDRO)["city"] == "Austin"


def test_ghl_answering_with_another_phones_contact_maps_nothing(ghl):
    # Given Maria's contact, whose phone someone changed in GHL to Pedro's
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    maria_id = IdMap.for_context(ctx).contact(MARIA)
    ghl.update_contact(maria_id, {"phone": PEDRO})
    # When Pedro's contact (no email) is written, GHL matches it by phone to Maria's
    with pytest.raises(Unprocessable, match=re.escape(MARIA)):
        apply(event("contact.created", {"phone": PEDRO, "contact_name": "Pedro"},
                    event_id="p"), ctx)
    # Then Pedro is not mapped to Maria's contact
    ids = IdMap.for_context(ctx)
    assert ids.contact(PEDRO) is None and ids.owner(maria_id) == MARIA


def test_through_the_pipeline_both_phones_stay_apart_and_status_shows_it(ghl):
    from worker.status import collect_status, format_status

    ctx = make_context(client=ghl, ghl_scopes=frozenset({"contacts.readonly",
                                                         "contacts.write"}))
    deps = PipelineDeps(settings=ctx.settings, redis=ctx.redis, client=ghl,
                        field_map=ctx.field_map, rand=lambda: 0.5)
    assert process(maria(), deps).kind == "applied"
    assert process(pedro(), deps).kind == "applied"
    assert ghl.contact_by_phone(MARIA)["name"] == "Maria Family"
    report = collect_status(ctx.redis, ctx.settings)
    assert report["email_conflicts"] == 1
    assert "email conflicts 1" in format_status(report)
