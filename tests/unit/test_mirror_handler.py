"""The worker's side of the mirror: ghl.contact.* written to the Toky simulator, the skips
(no phone, echoes, nothing to change), Toky's errors, the Toky poller leaving the mirror's
own writes out, the pipeline's scope check and the status line."""

from __future__ import annotations

import pytest

from contract.events import validate_event
from producers.mirror import TO_GHL, TO_TOKY, SyncMemory, fingerprint, from_ghl, from_toky
from producers.mirror.mapping import ghl_contact_event
from producers.poller import Poller
from tests.unit.fake_ghl import FakeGhl
from tests.unit.mirror_support import PREFIX, SINCE, World
from tests.unit.poller_support import RecordingPublisher
from tests.unit.sync_support import event as toky_event
from toky_ghl.settings import Settings
from worker.fieldmap import load_field_map
from worker.idmap import IdMap
from worker.pipeline import PipelineDeps, process
from worker.stats import Stats
from worker.status import collect_status, format_status
from worker.sync import HANDLERS
from worker.sync.contacts import contact_written
from worker.sync.outcome import Deferred, Unprocessable

GINA = "+15125550188"


def mirrored(world: World, contact: dict):
    """The contact's event through its handler, as the pipeline calls it."""
    event = validate_event(ghl_contact_event(contact))
    return HANDLERS[event["type"]](event, world.context())


def counts(world: World) -> dict[str, int]:
    return Stats(world.redis, PREFIX).snapshot()


def toky_writes(world: World) -> int:
    return world.toky_sim.writes("/contacts")


def test_a_new_ghl_contact_is_created_in_toky_and_remembered():
    # Given a contact added in GHL that Toky does not have
    world = World()
    gina = world.add_ghl_contact(name="Gina Hall", email="Gina@Example.com", phone=GINA,
                                 city="Austin", country="US")
    # When its event is applied
    outcome = mirrored(world, gina)
    # Then Toky has it (one POST), and the mirror remembers what Toky received
    assert (outcome.status, outcome.detail) == ("applied", "contact created in Toky")
    toky = world.toky_sim.contact(GINA)
    assert toky == {"contact_name": "Gina Hall", "phone": GINA, "email": "Gina@Example.com",
                    "city": "Austin", "country_code": "US"}
    assert toky_writes(world) == 1
    assert SyncMemory(world.redis, PREFIX).last(GINA) == (TO_TOKY, fingerprint(from_toky(toky)))
    assert counts(world)["mirror_created"] == 1
    # And the phone is mapped to this GHL contact for the Toky → GHL direction
    assert IdMap(world.redis, PREFIX).contact(GINA) == gina["id"]
    # When the same version comes again
    again = mirrored(world, gina)
    # Then nothing is written
    assert (again.status, again.detail) == ("skipped", "Toky already has these fields")
    assert toky_writes(world) == 1


def test_an_edit_updates_only_the_fields_that_differ():
    # Given Gina in Toky, then edited in GHL (and her email re-cased)
    world = World()
    world.toky_sim.add_contact(phone=GINA, contact_name="Gina Hall", email="gina@example.com",
                               city="Austin")
    gina = world.add_ghl_contact(name="Gina Hall-Ruiz", email="GINA@example.com", phone=GINA,
                                 city="Austin")
    # When the event is applied
    outcome = mirrored(world, gina)
    # Then one PUT changed the name only
    assert outcome.detail == "contact updated in Toky: contact_name"
    assert world.toky_sim.contact(GINA)["contact_name"] == "Gina Hall-Ruiz"
    assert world.toky_sim.contact(GINA)["email"] == "gina@example.com"
    assert world.toky_sim.stats()["by_method"].get(f"PUT /v1/contacts/{GINA}") == 1
    assert toky_writes(world) == 1


@pytest.mark.parametrize("phone,why", [(None, "no phone"), ("12", "an unreadable phone")])
def test_a_contact_without_a_usable_phone_is_skipped_and_counted(phone, why):
    # Given a GHL contact without a phone Toky could key it by
    world = World()
    nadia = world.add_ghl_contact(name="Nadia", email="nadia@example.com", phone=phone)
    # When its event is applied
    outcome = mirrored(world, nadia)
    # Then nothing reaches Toky, the reason is given and counted
    assert outcome.status == "skipped" and why in outcome.detail
    assert world.toky_sim.stats()["requests"] == {}
    assert counts(world)["mirror_no_phone"] == 1


def test_a_contact_toky_ghl_wrote_to_ghl_is_an_echo():
    # Given Ana written to GHL by the Toky → GHL sync (which remembers it)
    world = World()
    ctx = world.context()
    ctx.client = FakeGhl()
    contact_written(toky_event("contact.created", {
        "phone": "+15125550101", "contact_name": "Ana López", "email": "Ana@Example.com",
        "country_code": "US"}), ctx)
    (ana,) = ctx.client.contacts.values()
    # When the mirror sees that GHL contact
    outcome = mirrored(world, {**ana, "dateUpdated": "2027-01-15T08:00:00.000Z"})
    # Then it is skipped as an echo without asking Toky anything
    assert outcome.detail == "echo: toky-ghl wrote these fields to GHL from Toky"
    assert world.toky_sim.stats()["requests"] == {}
    assert counts(world)["mirror_echo"] == 1
    # But once a GHL user edits it, it is mirrored
    edited = {**ana, "city": "Austin", "dateUpdated": "2027-01-15T09:00:00.000Z"}
    assert mirrored(world, edited).detail == "contact created in Toky"


def test_contacts_toky_ghl_makes_for_a_call_are_echoes_but_found_ones_are_not():
    # Given a call from an unknown number: ensure_contact makes the GHL contact
    from worker.sync.ensure_contact import ensure_contact

    world = World()
    ctx = world.context()
    ctx.client = FakeGhl()
    ensure_contact("+15125550177", ctx, name="Caller")
    memory = SyncMemory(world.redis, PREFIX)
    made = ctx.client.contact_by_phone("+15125550177")
    # Then the mirror would see it as toky-ghl's own write
    assert memory.is_echo("+15125550177", TO_GHL, fingerprint(from_ghl(made)))
    # Given a contact a GHL user added, found by a call's upsert
    ctx.client.upsert_contact({"phone": "+15125550166", "name": "Known"})
    ensure_contact("+15125550166", ctx)
    # Then it is not an echo: the mirror will copy it
    assert memory.last("+15125550166") is None


def test_a_mirrored_write_does_not_come_back_from_the_toky_poller():
    # Given Gina mirrored into Toky from GHL
    world = World()
    gina = world.add_ghl_contact(name="Gina Hall", phone=GINA, email="gina@example.com")
    mirrored(world, gina)
    publisher = RecordingPublisher()
    poller = Poller(world.toky, world.redis, publisher, key_prefix=PREFIX,
                    backfill_since=SINCE, resources=("contacts",))
    # When the Toky poller reads the directory
    report = poller.poll_once()
    # Then it leaves Gina out as the mirror's own write, and says so
    assert publisher.events == []
    assert report.passes[0].echoes == 1
    assert "1 echoes skipped" in report.text()
    # When a Toky user then edits Gina
    world.toky_sim.update_contact(GINA, city="Austin")
    poller.poll_once()
    # Then that change goes to GHL
    (event,) = publisher.events
    assert (event["type"], event["data"]["city"]) == ("contact.updated", "Austin")


def test_a_ghl_edit_drops_the_toky_to_ghl_payload_cache():
    # Given Ana written to GHL from Toky (the payload hash cached) and edited in GHL
    world = World()
    ctx = world.context()
    ctx.client = FakeGhl()
    ana_data = {"phone": "+15125550101", "contact_name": "Ana"}
    contact_written(toky_event("contact.created", ana_data), ctx)
    assert IdMap(world.redis, PREFIX).payload_hash("+15125550101")
    (ana,) = ctx.client.contacts.values()
    mirrored(world, {**ana, "name": "Ana B", "dateUpdated": "2027-01-15T09:00:00.000Z"})
    # When Toky sends Ana as she was
    outcome = contact_written(toky_event("contact.updated", ana_data, event_id="e2"), ctx)
    # Then it is written to GHL again (not "unchanged")
    assert outcome.status == "applied"
    assert ctx.client.contacts[ana["id"]]["name"] == "Ana"


def test_a_create_racing_another_becomes_an_update():
    # Given Toky gets Gina between our read and our create
    world = World()
    gina = world.add_ghl_contact(name="Gina Hall", phone=GINA)
    real_get = world.toky.get_contact
    calls = []

    def get_contact(phone):
        calls.append(phone)
        if len(calls) == 1:
            world.toky_sim.add_contact(phone=GINA, contact_name="Gina")
            return None
        return real_get(phone)

    world.toky.get_contact = get_contact
    # When the event is applied
    outcome = mirrored(world, gina)
    # Then the 409 led to an update of the contact Toky has
    assert outcome.detail == "contact updated in Toky: contact_name"
    assert world.toky_sim.contact(GINA)["contact_name"] == "Gina Hall"


@pytest.mark.parametrize("status,error", [(422, Unprocessable), (401, Unprocessable),
                                          (503, Deferred), (429, Deferred)])
def test_toky_errors_become_dead_letters_or_retries(status, error):
    # Given Toky answering the create with an error
    world = World()
    gina = world.add_ghl_contact(name="Gina Hall", phone=GINA)
    world.toky_sim.fail_next("/contacts", status, times=5, retry_after_s=2)
    # When the event is applied
    # Then the pipeline is told to dead-letter (never retried) or to retry
    with pytest.raises(error) as caught:
        mirrored(world, gina)
    if status == 429:
        assert caught.value.retry_after_ms == 2000


def test_without_a_toky_key_the_event_is_dead_lettered_naming_it():
    world = World()
    gina = world.add_ghl_contact(name="Gina Hall", phone=GINA)
    ctx = world.context()
    ctx.toky = None
    event = validate_event(ghl_contact_event(gina))
    with pytest.raises(Unprocessable, match="TOKY_API_KEY"):
        HANDLERS[event["type"]](event, ctx)


def test_the_pipeline_needs_no_ghl_write_scope_for_the_mirror(monkeypatch):
    # Given read-only GHL scopes (the default) and a GHL contact event
    world = World()
    gina = world.add_ghl_contact(name="Gina Hall", phone=GINA)
    monkeypatch.setattr("worker.sync.mirror.toky_client", lambda _settings: world.toky)
    deps = PipelineDeps(settings=Settings(key_prefix=PREFIX, ghl_location_id="loc"),
                        redis=world.redis, client=FakeGhl(), field_map=load_field_map(None))
    raw = ghl_contact_event(gina)
    # When the pipeline processes it twice
    first = process(raw, deps)
    second = process(raw, deps)
    # Then it is applied to Toky once, not dead-lettered for a GHL scope
    assert (first.kind, first.detail) == ("applied", "contact created in Toky")
    assert second.kind == "skipped" and "duplicate" in second.detail
    assert toky_writes(world) == 1


def test_status_shows_the_mirror_counters():
    # Given a mirrored contact and a skipped one without a phone
    world = World()
    mirrored(world, world.add_ghl_contact(name="Gina Hall", phone=GINA))
    mirrored(world, world.add_ghl_contact(name="Nadia"))
    # When status is collected
    report = collect_status(world.redis, Settings(key_prefix=PREFIX, mirror_ghl_to_toky=True))
    # Then the mirror's counters are there, and in the text
    assert report["mirror"] == {"enabled": True, "created": 1, "updated": 0, "unchanged": 0,
                                "echoes": 0, "skipped_no_phone": 1}
    assert ("mirror        on: 1 created, 0 updated in Toky; 0 unchanged, 0 echoes skipped, "
            "1 without a phone (skipped)") in format_status(report)
    off = collect_status(world.redis, Settings(key_prefix="other"))
    assert "mirror        off (MIRROR_GHL_TO_TOKY): 0 created" in format_status(off)
