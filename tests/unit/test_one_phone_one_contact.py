"""Guarantee 3, one phone one contact, against GHL's email-first matching.

Every scenario runs against the fake and the simulator behind the real client
(``any_ghl``), with the location refusing duplicate contacts (GHL's default) and
allowing them (the "Allow Duplicate Contact" setting).
"""

from __future__ import annotations

import re

import pytest
import structlog

from clients.ghl.errors import GhlDuplicateContactError
from tests.unit.sync_support import apply, event, make_context
from worker.conflicts import ConflictStore
from worker.idmap import IdMap
from worker.keys import sync_lock_key
from worker.pipeline import PipelineDeps, process
from worker.sync.outcome import Deferred, Unprocessable

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


# -- the edges of worker/sync/contact_upsert.py -------------------------------------------------


def test_a_new_contact_is_reported_created_and_an_existing_one_upserted(ghl):
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    assert apply(pedro(), ctx).detail == "contact created"
    # Given a third phone that GHL already has (made in GHL, unknown to the id map)
    third = "+15125550303"
    existing, _ = ghl.upsert_contact({"phone": third, "name": "Already Here"})
    # When it arrives with the shared email
    outcome = apply(event("contact.created", {"phone": third, "contact_name": "Tercero",
                                              "email": EMAIL}, event_id="t"), ctx)
    # Then that contact is written (without the email), never a second one for the phone
    assert outcome.detail == "contact upserted"
    assert outcome.ghl_ids["contact"] == existing["id"]
    assert [c["id"] for c in ghl.contacts.values() if c.get("phone") == third] == [
        existing["id"]]
    assert ghl.contact_by_phone(third)["name"] == "Tercero"
    assert not ghl.contact_by_phone(third).get("email")


def test_a_mapped_phone_is_not_looked_up_again_by_number(ghl):
    # Given Maria, and Pedro mapped to his own contact (no email yet)
    ctx = make_context(client=ghl, field_map={"standard": {"companyName": "company",
                                                           "email": "email",
                                                           "name": "contact_name"}})
    apply(maria(), ctx)
    apply(event("contact.created", {"phone": PEDRO, "contact_name": "Pedro Family"},
                event_id="p0"), ctx)
    pedro_id = IdMap.for_context(ctx).contact(PEDRO)
    before = len(ghl.calls)
    # When Pedro gets a company (PUT refuses it: an upsert) and Maria's email
    outcome = apply(event("contact.updated", {"phone": PEDRO, "contact_name": "Pedro Family",
                                              "company": "Family Inc", "email": EMAIL},
                          event_id="p1"), ctx)
    # Then his own contact is upserted without the email, with no search by number
    assert outcome.status == "applied" and outcome.ghl_ids["contact"] == pedro_id
    assert ghl.calls[before:] == ["search_duplicate", "upsert_contact"]
    assert ghl.contact_by_phone(PEDRO)["companyName"] == "Family Inc"
    assert ghl.contact_by_phone(MARIA)["name"] == "Maria Family"


def test_kept_apart_but_ghl_answers_with_a_third_phones_contact(ghl):
    # Given Maria's contact, and a third phone's mapped contact whose phone someone
    # changed in GHL to Pedro's
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    third = "+15125550303"
    apply(event("contact.created", {"phone": third, "contact_name": "Tercero"},
                event_id="t"), ctx)
    third_id = IdMap.for_context(ctx).contact(third)
    ghl.update_contact(third_id, {"phone": PEDRO})
    # When Pedro arrives with Maria's email
    with pytest.raises(Unprocessable, match=re.escape(third)):
        apply(pedro(), ctx)
    # Then nothing is mapped to Pedro
    assert IdMap.for_context(ctx).contact(PEDRO) is None


def test_what_the_logs_say_when_contacts_are_kept_apart(ghl):
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    with structlog.testing.capture_logs() as logs:
        apply(pedro(), ctx)
    mine, his = ghl.contact_by_phone(MARIA), ghl.contact_by_phone(PEDRO)
    (warning,) = [x for x in logs if x["log_level"] == "warning"]
    assert warning["event"] == "email shared with another phone's contact; kept apart"
    assert {k: warning[k] for k in ("email", "phone", "other_phone", "other_contact_id",
                                    "contact_id", "email_written")} == {
        "email": EMAIL, "phone": PEDRO, "other_phone": MARIA, "other_contact_id": mine["id"],
        "contact_id": his["id"], "email_written": ghl.allow_duplicates}
    refused = [x for x in logs
               if x["event"] == "location refuses duplicate contacts; writing without the email"]
    assert len(refused) == (0 if ghl.allow_duplicates else 1)
    entry = conflicts(ctx).get(EMAIL)
    assert entry.resolution == (
        f"kept apart: {PEDRO} has a contact of its own; both contacts carry it"
        if ghl.allow_duplicates else
        f"kept apart: {PEDRO} has a contact of its own; it stays on {MARIA}'s contact only")


# -- a PUT refused for a taken email ------------------------------------------------------------


def duplicate(contact_id: str, field: str) -> GhlDuplicateContactError:
    return GhlDuplicateContactError(
        "This location does not allow duplicated contacts.", status=400,
        body={"meta": {"contactId": contact_id, "matchingField": field}})


def pedro_known(ghl) -> tuple:
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    apply(event("contact.created", {"phone": PEDRO, "contact_name": "Pedro Family"},
                event_id="p0"), ctx)
    return ctx, IdMap.for_context(ctx).contact(PEDRO)


def update_pedro() -> dict:
    return event("contact.updated", {"phone": PEDRO, "contact_name": "Pedro F.",
                                     "email": EMAIL}, event_id="p1")


@pytest.mark.parametrize("field", ["phone", "email"])
def test_a_put_refused_for_the_contact_itself_or_by_phone_is_not_an_email_conflict(any_ghl,
                                                                                   field):
    ctx, pedro_id = pedro_known(any_ghl)
    refused_by = pedro_id if field == "email" else IdMap.for_context(ctx).contact(MARIA)
    any_ghl.fail("update_contact", duplicate(refused_by, field))
    with pytest.raises(GhlDuplicateContactError):
        apply(update_pedro(), ctx)
    assert conflicts(ctx).count() == 0


def test_a_put_refused_for_an_unmapped_contact_names_its_phone_in_ghl(any_ghl):
    # Given Pedro mapped, and a contact with the email made in GHL for another phone
    ctx, pedro_id = pedro_known(any_ghl)
    other, _ = any_ghl.upsert_contact({"email": "lead@example.com", "phone": "+15125550399"})
    any_ghl.fail("update_contact", duplicate(other["id"], "email"))
    # When Pedro's update with that email is refused
    with structlog.testing.capture_logs() as logs:
        outcome = apply(event("contact.updated", {"phone": PEDRO, "contact_name": "Pedro F.",
                                                  "email": "lead@example.com"},
                              event_id="p1"), ctx)
    # Then it is applied without the email, and the conflict names the other phone
    assert outcome.status == "applied"
    assert any_ghl.contact_by_phone(PEDRO)["name"] == "Pedro F."
    entry = conflicts(ctx).get("lead@example.com")
    assert entry.contacts == {"+15125550399": other["id"], PEDRO: pedro_id}
    assert entry.email_on == ["+15125550399"]
    assert entry.resolution == f"kept apart: {PEDRO}'s contact was updated without the email"
    (warning,) = [x for x in logs if x["log_level"] == "warning"]
    assert warning["event"] == "email shared with another phone's contact; updated without it"
    assert {k: warning[k] for k in ("email", "phone", "other_phone", "other_contact_id",
                                    "contact_id")} == {
        "email": "lead@example.com", "phone": PEDRO, "other_phone": "+15125550399",
        "other_contact_id": other["id"], "contact_id": pedro_id}


def test_a_put_refused_for_a_contact_gone_meanwhile_is_labelled(any_ghl):
    ctx, pedro_id = pedro_known(any_ghl)
    any_ghl.fail("update_contact", duplicate("gone-contact", "email"))
    apply(update_pedro(), ctx)
    assert conflicts(ctx).get(EMAIL).contacts == {
        "(no phone: GHL contact gone-contact)": "gone-contact", PEDRO: pedro_id}


def test_an_unmapped_contact_with_the_email_and_another_phone_is_kept_whole(ghl):
    # Given a contact made in GHL (not by toky-ghl) with the email and another phone
    ctx = make_context(client=ghl)
    theirs, _ = ghl.upsert_contact({"email": EMAIL, "phone": "+15125550399",
                                    "name": "Made In GHL"})
    # When Pedro arrives with that email
    apply(pedro(), ctx)
    # Then that contact keeps its name and phone; Pedro has his own
    kept = ghl.contacts[theirs["id"]]
    assert (kept["name"], kept["phone"]) == ("Made In GHL", "+15125550399")
    assert ghl.contact_by_phone(PEDRO)["id"] != theirs["id"]
    assert conflicts(ctx).get(EMAIL).contacts["+15125550399"] == theirs["id"]


def test_a_phones_own_mapped_contact_with_its_email_is_upserted_as_usual(ghl):
    # Given Maria mapped, and a field map whose company field makes every write an upsert
    ctx = make_context(client=ghl, field_map={"standard": {"companyName": "company",
                                                           "email": "email",
                                                           "name": "contact_name"}})
    apply(maria(company="Family Inc"), ctx)
    # When she changes company, keeping her email
    outcome = apply(event("contact.updated", {"phone": MARIA, "contact_name": "Maria Family",
                                              "email": EMAIL, "company": "Family LLC"},
                          event_id="m2"), ctx)
    # Then her own contact is updated with her email: no conflict
    assert outcome.detail == "contact upserted"
    assert (ghl.contact_by_phone(MARIA)["companyName"], ghl.contact_by_phone(MARIA)["email"]
            ) == ("Family LLC", EMAIL)
    assert conflicts(ctx).count() == 0 and len(ghl.contacts) == 1


def test_an_email_being_written_by_another_worker_defers_the_event(ghl, monkeypatch):
    import worker.sync.contact_upsert as module

    monkeypatch.setattr(module, "EMAIL_LOCK_WAIT_S", 0.05)
    ctx = make_context(client=ghl)
    apply(maria(), ctx)
    held = ctx.redis.lock(sync_lock_key(ctx.settings.key_prefix, "contact-email", EMAIL),
                          timeout=60)
    assert held.acquire()
    with pytest.raises(Deferred, match="another worker is writing a contact with this email"):
        apply(pedro(), ctx)
    assert ghl.contact_by_phone(PEDRO) is None
    held.release()
    assert apply(pedro(), ctx).status == "applied"
