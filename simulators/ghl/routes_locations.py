"""A location and its custom fields (apps/locations.json).

``GET /locations/{locationId}`` (scope ``locations.readonly``) answers
``{"location": {...}}`` (GetLocationByIdSchema: ``id``, ``companyId``, ``name``, ...).
``GET /locations/{locationId}/customFields`` (scope
``locations/customFields.readonly``, optional ``model``: contact, opportunity,
all) answers ``{"customFields": [CustomFieldSchema]}``: ``id``, ``name``,
``fieldKey`` (e.g. ``contact.pincode``), ``dataType``, ``model``, ... Another
location's id is answered 403 like every location-scoped route here.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from simulators.ghl.errors import CONTACTS_VERSION, unprocessable, wrong_location
from simulators.ghl.gate import current_location, endpoint
from simulators.ghl.state import Location

bp = Blueprint("ghl_locations", __name__)
MODELS = ("contact", "opportunity", "all")


def _own(location_id: str) -> Location:
    location = current_location()
    if location_id != location.location_id:
        raise wrong_location()
    return location


@bp.get("/locations/<location_id>")
@endpoint("locations.readonly", CONTACTS_VERSION)
def get_location(location_id: str) -> ResponseReturnValue:
    location = _own(location_id)
    return {"location": {"id": location.location_id, "companyId": location.company_id,
                         "name": f"Location {location.location_id}"}}


@bp.get("/locations/<location_id>/customFields")
@endpoint("locations/customFields.readonly", CONTACTS_VERSION)
def custom_fields(location_id: str) -> ResponseReturnValue:
    location = _own(location_id)
    model = request.args.get("model") or "all"
    if model not in MODELS:
        raise unprocessable([f"model must be one of the following values: {', '.join(MODELS)}"])
    fields = [f for f in location.custom_fields.values()
              if model == "all" or f.get("model") == model]
    return {"customFields": fields}
