"""``seed_demo``: a ready location for ``toky-ghl run`` and the sandbox."""

from __future__ import annotations

from toky_ghl.sim.ghl.sim import GhlSim

DEMO_TOKEN = "sim-token"
DEMO_LOCATION = "sim-location"
DEMO_CALENDAR = "sim-calendar"
#: Every scope toky-ghl may use, read and write.
DEMO_SCOPES = (
    "contacts.readonly", "contacts.write", "calendars/events.readonly", "calendars/events.write",
    "locations/customFields.readonly", "users.readonly",
)
#: Two users with fixed ids, so a field map can name them.
DEMO_USERS = (
    {"id": "SimUserAgentOne00001", "name": "Agent One", "email": "agent.one@example.com"},
    {"id": "SimUserAgentTwo00002", "name": "Agent Two", "email": "agent.two@example.com"},
)


def seed_demo(sim: GhlSim) -> None:
    """Register token ``sim-token`` for ``sim-location`` with ``DEMO_SCOPES``, the calendar
    ``sim-calendar`` and the two ``DEMO_USERS``. Safe to call twice."""
    sim.add_token(DEMO_TOKEN, DEMO_LOCATION, DEMO_SCOPES)
    sim.add_calendar(DEMO_LOCATION, DEMO_CALENDAR)
    for user in DEMO_USERS:
        sim.add_user(DEMO_LOCATION, user["name"], user["email"], user_id=user["id"])
