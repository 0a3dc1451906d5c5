"""``seed_demo``: a ready location for ``toky-ghl run`` and the sandbox."""

from __future__ import annotations

from simulators.ghl.sim import GhlSim
from simulators.toky.demo import ANA_EMAIL, BEN_EMAIL

DEMO_TOKEN = "sim-token"
DEMO_LOCATION = "sim-location"
DEMO_CALENDAR = "sim-calendar"
#: Every scope toky-ghl may use, read and write.
DEMO_SCOPES = (
    "contacts.readonly", "contacts.write", "calendars/events.readonly", "calendars/events.write",
    "locations/customFields.readonly", "users.readonly",
    "opportunities.readonly", "opportunities.write",
)
#: Two users with fixed ids, so a field map can name them; the Toky simulator's demo
#: agents have their emails (a sales rep is a Toky agent and a GHL user), so
#: ``toky-ghl agents`` in the demo shows both matched.
DEMO_USERS = (
    {"id": "SimUserAnaRuiz000001", "name": "Ana Ruiz", "email": ANA_EMAIL},
    {"id": "SimUserBenCole000002", "name": "Ben Cole", "email": BEN_EMAIL},
)


def seed_demo(sim: GhlSim) -> None:
    """Register token ``sim-token`` for ``sim-location`` with ``DEMO_SCOPES``, the calendar
    ``sim-calendar`` and the two ``DEMO_USERS``. Safe to call twice."""
    sim.add_token(DEMO_TOKEN, DEMO_LOCATION, DEMO_SCOPES)
    sim.add_calendar(DEMO_LOCATION, DEMO_CALENDAR)
    for user in DEMO_USERS:
        sim.add_user(DEMO_LOCATION, user["name"], user["email"], user_id=user["id"])
