"""GET /users/?locationId=: the location's users (to map Toky agents to GHL users)."""

from __future__ import annotations

from flask import Blueprint

from toky_ghl.sim.ghl.errors import CONTACTS_VERSION
from toky_ghl.sim.ghl.gate import current_location, endpoint, required_location_id

# The users API uses the same Version as contacts (apps/users.json: 2021-07-28).
USERS_VERSION = CONTACTS_VERSION
bp = Blueprint("ghl_users", __name__)


@bp.get("/users/", strict_slashes=False)
@endpoint("users.readonly", USERS_VERSION)
def list_users():
    required_location_id()
    return {"users": list(current_location().users.values())}
