"""The location's users (to map Toky agents to GHL users).

apps/users.json: ``GET /users/search`` ("Search Users"; ``companyId`` required,
``locationId``, ``skip``, ``limit`` (default 25) optional; answers
``{"users": [UserSchema], "count": n}``) replaces ``GET /users/`` ("Get User by
Location", ``deprecated: true``: "Use GET /users/search instead. Pass locationId
as a query parameter to filter results by location, along with the required
companyId"; answers ``{"users": [...]}``). Both need ``users.readonly``. With
``SimConfig.users_search`` off the search answers 404, as a GHL without it would.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from simulators.ghl import validation as rules
from simulators.ghl.errors import CONTACTS_VERSION, no_route, unprocessable
from simulators.ghl.gate import current_location, current_sim, endpoint, required_location_id

# The users API uses the same Version as contacts (apps/users.json: 2021-07-28).
USERS_VERSION = CONTACTS_VERSION
bp = Blueprint("ghl_users", __name__)


@bp.get("/users/", strict_slashes=False)
@endpoint("users.readonly", USERS_VERSION)
def list_users() -> ResponseReturnValue:
    required_location_id()
    return {"users": list(current_location().users.values())}


@bp.get("/users/search")
@endpoint("users.readonly", USERS_VERSION)
def search_users() -> ResponseReturnValue:
    if not current_sim().config.users_search:
        raise no_route("GET", "/users/search")
    location = current_location()
    errors = [] if request.args.get("companyId") else ["companyId should not be empty"]
    skip, more = rules.query_int(request.args, "skip", 0, minimum=0)
    limit, most = rules.query_int(request.args, "limit", 25, minimum=1)
    if errors + more + most:
        raise unprocessable(errors + more + most)
    if request.args.get("companyId") != location.company_id:
        # ASSUMPTION: another company's id finds none of this location's users.
        return {"users": [], "count": 0}
    users = list(location.users.values())
    query = (request.args.get("query") or "").strip().lower()
    if query:
        users = [u for u in users if query in f"{u.get('name', '')} {u.get('email', '')}".lower()]
    return {"users": users[skip:skip + limit], "count": len(users)}
