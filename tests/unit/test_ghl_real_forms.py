"""The worker against every form GHL's sources document (the simulator serves each):
a missing object answered 400 or 404, custom fields by key, appointments without
automations and without a key in the title, task updates with title and due date,
and the users search with the deprecated list as fallback. Real ``GhlClient``,
the GHL simulator in process, fakeredis."""

from __future__ import annotations

import fakeredis
import pytest
import requests
import structlog

from clients.ghl.client import GhlClient
from clients.ghl.errors import GhlNotFoundError
from simulators.ghl.app import create_app
from simulators.ghl.config import SimConfig
from simulators.ghl.sim import GhlSim
from simulators.ghl.testing import ALL_SCOPES, TEST_TOKEN, FakeClock
from tests.unit.poller_support import WsgiAdapter
from tests.unit.sync_support import apply, event
from toky_ghl.errors import ConfigError
from toky_ghl.settings import Settings
from worker.custom_field_ids import resolve_custom_field_keys
from worker.fieldmap import parse_field_map
from worker.idmap import IdMap
from worker.sync.context import SyncContext

LOCATION = "loc-real"
CALENDAR = "cal-real"
PHONE = "+14155550134"


class World:
    """The GHL simulator, a real client on it, a sync context over fakeredis."""

    def __init__(self, scopes=ALL_SCOPES, field_map=None, **config) -> None:
        self.sim = GhlSim(SimConfig(**config), clock=FakeClock())
        self.sim.add_token(TEST_TOKEN, LOCATION, scopes)
        self.sim.add_calendar(LOCATION, CALENDAR)
        session = requests.Session()
        self.adapter = WsgiAdapter(create_app(self.sim))
        session.mount("http://", self.adapter)
        self.client = GhlClient(base_url="http://ghl.sim", token=TEST_TOKEN,
                                location_id=LOCATION, scopes=scopes, session=session)
        self.redis = fakeredis.FakeRedis()
        self.field_map = parse_field_map(field_map or {})
        self.notify = False

    def context(self) -> SyncContext:
        settings = Settings(key_prefix="t", ghl_location_id=LOCATION, ghl_calendar_id=CALENDAR,
                            ghl_appointment_notify=self.notify)
        return SyncContext(client=self.client, redis=self.redis, settings=settings,
                           field_map=self.field_map, log=structlog.get_logger("test"))

    def objects(self, kind: str) -> list[dict]:
        return self.sim.state()["locations"][LOCATION][kind]

    def routes(self) -> dict[str, int]:
        return self.sim.stats_snapshot()["by_route"]


def call(callid: str, phone: str = PHONE) -> dict:
    return event("call.ended", {"callid": callid, "direction": "inbound", "state": "completed",
                                "from_number": phone, "duration": 30},
                 event_id=f"call-{callid}")


# -- a missing object: 400 "… not found" or 404 ------------------------------------------


@pytest.mark.parametrize("missing_status", [400, 404])
def test_a_contact_deleted_in_ghl_is_made_again_whichever_status_says_so(missing_status):
    # Given a call note on a contact, then the contact deleted by a GHL user
    world = World(missing_status=missing_status)
    ctx = world.context()
    apply(call("c-1"), ctx)
    (first,) = world.objects("contacts")
    with world.sim.lock:
        del world.sim.location(LOCATION).contacts[first["id"]]
    # When the next call of that phone is applied (GHL answers its id `missing_status`)
    outcome = apply(call("c-2"), ctx)
    # Then the contact is made again and the note is on it
    assert outcome.status == "applied"
    (second,) = world.objects("contacts")
    assert second["id"] != first["id"] and second["phone"] == PHONE
    notes = [n for n in world.objects("notes") if n["contactId"] == second["id"]]
    assert len(notes) == 1 and "c-2" in notes[0]["body"]
    assert IdMap.for_context(ctx).contact(PHONE) == second["id"]


@pytest.mark.parametrize("missing_status", [400, 404])
def test_each_kind_of_missing_object_is_not_found_for_the_client(missing_status):
    # Given a contact but no such task, note or appointment
    world = World(missing_status=missing_status)
    contact = world.sim.add_contact(LOCATION, {"phone": PHONE})
    calls = [lambda: world.client.get_contact("nope"),
             lambda: world.client.get_task(contact["id"], "nope"),
             lambda: world.client.get_note(contact["id"], "nope"),
             lambda: world.client.update_appointment("nope", {"title": "x"})]
    # When each is asked for / Then each is GhlNotFoundError, whatever the status
    for ask in calls:
        with pytest.raises(GhlNotFoundError) as caught:
            ask()
        assert caught.value.status == missing_status


@pytest.mark.parametrize("missing_status", [400, 404])
def test_a_task_deleted_in_ghl_is_made_again_on_its_next_update(missing_status):
    # Given a task made from Toky, then deleted in GHL
    world = World(missing_status=missing_status)
    ctx = world.context()
    data = {"task_id": "tk-1", "phone": PHONE, "title": "Send proposal",
            "due_date": "2026-11-05T09:30:00Z"}
    apply(event("task.created", data), ctx)
    with world.sim.lock:
        world.sim.location(LOCATION).tasks.clear()
    # When it is updated in Toky
    outcome = apply(event("task.updated", {**data, "title": "Send the proposal"},
                          event_id="evt-2"), ctx)
    # Then GHL has it again, with the new title
    assert outcome.status == "applied"
    (task,) = world.objects("tasks")
    assert task["title"] == "Send the proposal"


# -- task updates: title and dueDate always --------------------------------------------


def test_a_task_update_sends_title_and_the_due_date_to_the_second():
    # Given a task GHL answers with a millisecond due date (as GHL does)
    world = World()
    ctx = world.context()
    data = {"task_id": "tk-1", "phone": PHONE, "title": "Send proposal",
            "due_date": "2026-11-05T09:30:00Z"}
    apply(event("task.created", data), ctx)
    assert world.objects("tasks")[0]["dueDate"] == "2026-11-05T09:30:00.000Z"
    # When only its body changes in Toky
    outcome = apply(event("task.updated", {"task_id": "tk-1", "phone": PHONE,
                                           "body": "Bring the numbers"}, event_id="e-2"), ctx)
    # Then the PUT (which GHL checks to the second) went through, title and due date kept
    assert outcome.status == "applied"
    (task,) = world.objects("tasks")
    assert (task["title"], task["dueDate"]) == ("Send proposal", "2026-11-05T09:30:00.000Z")
    assert task["body"].startswith("Bring the numbers")
    assert world.routes()["GET /contacts/{contactId}/tasks/{taskId}"] == 1


# -- appointments: no automations, no key in the title ------------------------------------


APPOINTMENT = {"appointment_id": "ap-1", "phone": PHONE, "title": "Proposal review",
               "start": "2026-11-05T18:00:00-08:00"}


@pytest.mark.parametrize("notify", [False, True])
def test_appointments_run_ghl_automations_only_when_asked(notify):
    # Given GHL_APPOINTMENT_NOTIFY off (the default) or on
    world = World()
    world.notify = notify
    ctx = world.context()
    # When an appointment is created, moved and cancelled from Toky
    apply(event("appointment.created", APPOINTMENT), ctx)
    apply(event("appointment.updated", {**APPOINTMENT, "start": "2026-11-06T10:00:00-08:00"},
                event_id="e-2"), ctx)
    apply(event("appointment.cancelled", {"appointment_id": "ap-1", "phone": PHONE},
                event_id="e-3"), ctx)
    # Then GHL ran its automations (confirmations, reminders) only when asked
    automations = world.objects("automations")
    assert len(automations) == (3 if notify else 0)


def test_the_appointment_title_is_tokys_and_the_key_is_in_the_description():
    # Given / When an appointment is created from Toky
    world = World()
    apply(event("appointment.created", APPOINTMENT), world.context())
    # Then the calendar shows Toky's title alone; the key is in the description
    (appointment,) = world.objects("appointments")
    assert appointment["title"] == "Proposal review"
    assert "[toky:" not in appointment["title"]
    assert appointment["description"] == "[toky:appointment:ap-1]"


@pytest.mark.parametrize("notes_carry_description", [True, False])
def test_an_appointment_whose_answer_was_lost_is_adopted_not_made_twice(
        notes_carry_description):
    # Given GHL made the appointment but the answer was lost (504), and a contact listing
    # that shows (or not) the description in `notes`
    world = World(list_description_as_notes=notes_carry_description)
    ctx = world.context()
    apply(event("appointment.created", {**APPOINTMENT, "appointment_id": "ap-0",
                                        "start": "2026-11-05T09:00:00-08:00"}), ctx)
    world.sim.update_config(lost_answer_rate=1.0)
    with pytest.raises(Exception):  # noqa: B017 - the lost answer, whatever its class
        apply(event("appointment.created", APPOINTMENT, event_id="e-2"), ctx)
    world.sim.update_config(lost_answer_rate=0.0)
    # When the event is tried again
    outcome = apply(event("appointment.created", APPOINTMENT, event_id="e-2"), ctx)
    # Then the one GHL made is adopted (by its key, or by calendar and start time): two in all
    assert outcome.detail == "appointment adopted"
    starts = sorted(a["startTime"] for a in world.objects("appointments"))
    assert starts == ["2026-11-05T09:00:00-08:00", "2026-11-05T18:00:00-08:00"]


# -- custom fields by key --------------------------------------------------------------

KEYED_MAP = {"custom_fields": [{"ghl_id": "cf-plan", "toky_field": "plan", "type": "text"},
                               {"ghl_key": "contact.seats", "toky_field": "seats",
                                "type": "number"}]}


def keyed_world(**kwargs) -> World:
    world = World(field_map=KEYED_MAP, **kwargs)
    world.sim.add_custom_field(LOCATION, "Plan", "contact.plan", field_id="cf-plan")
    world.sim.add_custom_field(LOCATION, "Seats", "contact.seats", data_type="NUMERICAL",
                               field_id="cf-seats")
    return world


def test_a_custom_field_named_by_key_is_written_by_its_id():
    # Given a map naming one field by id and one by key, resolved as a worker starts
    world = keyed_world()
    resolve_custom_field_keys(world.field_map, world.client, world.redis, "t")
    # When a contact with both is written
    apply(event("contact.created", {"phone": PHONE, "plan": "gold", "seats": "12"}),
          world.context())
    # Then GHL holds both values under their ids (the numeric one by id, as the spec needs)
    (contact,) = world.objects("contacts")
    assert {"id": "cf-seats", "value": 12} in contact["customFields"]
    assert {"id": "cf-plan", "value": "gold"} in contact["customFields"]


def test_the_custom_field_list_is_read_once_and_shared_through_redis():
    # Given two workers starting on one Redis
    world = keyed_world()
    resolve_custom_field_keys(world.field_map, world.client, world.redis, "t")
    other = parse_field_map(KEYED_MAP)
    resolve_custom_field_keys(other, world.client, world.redis, "t")
    # Then GHL was asked once, and both know the id
    assert world.routes()["GET /locations/{locationId}/customFields"] == 1
    assert other.key_ids == {"contact.seats": "cf-seats"}


def test_an_unknown_key_stops_the_start_naming_the_entry():
    # Given a map naming a key the location does not have
    world = World(field_map={"custom_fields": [
        {"ghl_id": "cf-plan", "toky_field": "plan"},
        {"ghl_key": "contact.nope", "toky_field": "x", "type": "number"}]})
    world.sim.add_custom_field(LOCATION, "Seats", "contact.seats", field_id="cf-seats")
    # When resolved / Then the start is refused, naming the entry and the key
    with pytest.raises(ConfigError, match=r"custom_fields\[1\]\.ghl_key: 'contact\.nope' is not"):
        resolve_custom_field_keys(world.field_map, world.client, world.redis, "t")


def test_a_key_without_the_scope_to_resolve_it_stops_the_start_naming_the_scope():
    # Given a token without locations/customFields.readonly
    scopes = tuple(s for s in ALL_SCOPES if s != "locations/customFields.readonly")
    world = World(scopes=scopes, field_map=KEYED_MAP)
    # When resolved / Then refused before anything is sent, naming the entry and the scope
    with pytest.raises(ConfigError, match=r"custom_fields\[1\]\.ghl_key.*"
                                          r"locations/customFields\.readonly"):
        resolve_custom_field_keys(world.field_map, world.client, world.redis, "t")
    assert world.routes().get("GET /locations/{locationId}/customFields", 0) == 0


def test_a_field_made_again_in_ghl_is_found_by_its_key_when_ghl_refuses_the_old_id():
    # Given a resolved map, then the keyed field deleted and made again in GHL (new id)
    world = keyed_world()
    resolve_custom_field_keys(world.field_map, world.client, world.redis, "t")
    world.sim.remove_custom_field(LOCATION, "cf-seats")
    world.sim.add_custom_field(LOCATION, "Seats", "contact.seats", field_id="cf-seats-2")
    # When a contact is written (GHL refuses the old id)
    outcome = apply(event("contact.created", {"phone": PHONE, "seats": 3}), world.context())
    # Then the key is resolved again and the value lands under the new id
    assert outcome.status == "applied"
    (contact,) = world.objects("contacts")
    assert {"id": "cf-seats-2", "value": 3} in contact["customFields"]
    assert world.field_map.key_ids == {"contact.seats": "cf-seats-2"}


# -- users: the search, and the deprecated list as fallback ---------------------------


def test_users_are_listed_by_the_search_when_the_company_is_known():
    # Given a location with 3 users and a token that may read the location
    world = World()
    for n in range(3):
        world.sim.add_user(LOCATION, f"User {n}", f"u{n}@company.test", user_id=f"u-{n}")
    # When the users are listed (pages of 2)
    users = world.client.search_users(world.client.get_location()["companyId"], page_size=2)
    listed = world.client.list_users()
    # Then the search found all of them, and the deprecated route was not used
    assert sorted(u["id"] for u in users) == sorted(u["id"] for u in listed) == \
        ["u-0", "u-1", "u-2"]
    assert world.routes().get("GET /users/", 0) == 0
    assert world.routes()["GET /users/search"] >= 1


@pytest.mark.parametrize(("scopes", "config"), [
    (tuple(s for s in ALL_SCOPES if s != "locations.readonly"), {}),  # company unknown
    (ALL_SCOPES, {"users_search": False}),                             # no search route
])
def test_users_fall_back_to_the_deprecated_list(scopes, config):
    # Given the search cannot be used (company unknown, or GHL without it)
    world = World(scopes=scopes, **config)
    world.sim.add_user(LOCATION, "Sam", "sam@company.test", user_id="u-sam")
    # When the users are listed / Then GET /users/ answers them
    assert [u["id"] for u in world.client.list_users()] == ["u-sam"]
    assert world.routes()["GET /users/"] == 1


def test_the_shared_custom_field_list_is_read_again_once_it_is_an_hour_old():
    # Given keys resolved at t=0
    world = keyed_world()
    resolve_custom_field_keys(world.field_map, world.client, world.redis, "t", clock=lambda: 0)
    # When another worker starts 59 min later, then another 61 min later
    resolve_custom_field_keys(parse_field_map(KEYED_MAP), world.client, world.redis, "t",
                              clock=lambda: 59 * 60)
    resolve_custom_field_keys(parse_field_map(KEYED_MAP), world.client, world.redis, "t",
                              clock=lambda: 61 * 60)
    # Then GHL was asked at the first start and after the hour, not in between
    assert world.routes()["GET /locations/{locationId}/customFields"] == 2


def test_a_worker_starting_while_ghl_is_down_uses_the_last_known_ids():
    # Given keys resolved once, then GHL failing every request, two hours later
    world = keyed_world()
    resolve_custom_field_keys(world.field_map, world.client, world.redis, "t", clock=lambda: 0)
    world.sim.update_config(error_rate=1.0)
    later = parse_field_map(KEYED_MAP)
    # When a worker starts / Then it knows the ids from the last answer
    resolve_custom_field_keys(later, world.client, world.redis, "t", clock=lambda: 7200)
    assert later.key_ids == {"contact.seats": "cf-seats"}


def test_a_worker_starting_while_ghl_is_down_with_nothing_known_is_refused():
    # Given GHL failing every request and no earlier answer
    world = keyed_world(error_rate=1.0)
    # When a worker starts / Then it stops, naming the entry and GHL's answer
    with pytest.raises(ConfigError, match=r"custom_fields\[1\]\.ghl_key.*cannot list"):
        resolve_custom_field_keys(world.field_map, world.client, world.redis, "t")
