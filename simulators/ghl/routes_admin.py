"""``/_sim/...``: inspect and steer the simulator (no auth, no rate limit, not counted)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue

from simulators.ghl.contacts import apply_fields
from simulators.ghl.errors import bad_request, not_found
from simulators.ghl.gate import current_sim, json_body

bp = Blueprint("ghl_admin", __name__, url_prefix="/_sim")


def _fields(*names: str) -> list[Any]:
    """The named body fields, or 400 naming those missing."""
    body = json_body()
    missing = [name for name in names if not body.get(name)]
    if missing:
        raise bad_request(f"missing field(s): {', '.join(missing)}")
    return [body[name] for name in names]


@bp.get("/state")
def state() -> ResponseReturnValue:
    return current_sim().state()


@bp.get("/stats")
def stats() -> ResponseReturnValue:
    return current_sim().stats_snapshot()


@bp.get("/config")
def get_config() -> ResponseReturnValue:
    return current_sim().config.as_dict()


@bp.post("/config")
def update_config() -> ResponseReturnValue:
    """Body: any ``SimConfig`` fields, e.g. ``{"max_requests": 5, "error_rate": 0.1}``."""
    try:
        return current_sim().update_config(json_body()).as_dict()
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from None


@bp.post("/reset")
def reset() -> ResponseReturnValue:
    """Body (optional): ``{"everything": true}`` also forgets tokens, calendars and users."""
    current_sim().reset(everything=bool(json_body().get("everything")))
    return {"reset": True}


@bp.post("/tokens")
def add_token() -> ResponseReturnValue:
    """Body: ``{"token", "location_id", "scopes"}`` (scopes: a list or a space-separated string)."""
    token, location_id = _fields("token", "location_id")
    current_sim().add_token(token, location_id, json_body().get("scopes") or [])
    return {"token": token, "location_id": location_id}, 201


@bp.post("/calendars")
def add_calendar() -> ResponseReturnValue:
    location_id, calendar_id = _fields("location_id", "calendar_id")
    current_sim().add_calendar(location_id, calendar_id)
    return {"location_id": location_id, "calendar_id": calendar_id}, 201


@bp.post("/users")
def add_user() -> ResponseReturnValue:
    """Body: ``{"location_id", "name", "email", "id"?}``; answers the user."""
    location_id, name, email = _fields("location_id", "name", "email")
    return current_sim().add_user(location_id, name, email, json_body().get("id")), 201


@bp.post("/custom-fields")
def add_custom_field() -> ResponseReturnValue:
    """Body: ``{"location_id", "name", "field_key", "data_type"?, "model"?, "id"?}``."""
    location_id, name, field_key = _fields("location_id", "name", "field_key")
    body = json_body()
    return current_sim().add_custom_field(
        location_id, name, field_key, data_type=body.get("data_type") or "TEXT",
        model=body.get("model") or "contact", field_id=body.get("id")), 201


@bp.post("/locations")
def set_location() -> ResponseReturnValue:
    """Body: ``{"location_id", "allow_duplicates"}``: GHL's "Allow Duplicate Contact"."""
    (location_id,) = _fields("location_id")
    current_sim().set_allow_duplicates(location_id, bool(json_body().get("allow_duplicates")))
    return {"location_id": location_id,
            "allow_duplicates": current_sim().location(location_id).allow_duplicates}


@bp.put("/contacts/<contact_id>")
def edit_contact(contact_id: str) -> ResponseReturnValue:
    """Body: ``{"location_id", "contact": {...}}``: the contact edited as a GHL user would in
    the UI (no request counted, no budget used); ``dateUpdated`` moves. 404 when unknown."""
    (location_id,) = _fields("location_id")
    fields = json_body().get("contact") or {}
    if not isinstance(fields, dict):
        raise bad_request("contact must be an object")
    sim = current_sim()
    with sim.lock:
        contact = sim.location(location_id).contacts.get(contact_id)
        if contact is None:
            raise not_found("Contact")
        apply_fields(contact, fields, sim.clock())
        return dict(contact)


@bp.post("/contacts")
def add_contact() -> ResponseReturnValue:
    """Body: ``{"location_id", "contact": {...}}``: a contact put in place, no checks."""
    (location_id,) = _fields("location_id")
    fields = json_body().get("contact") or {}
    if not isinstance(fields, dict):
        raise bad_request("contact must be an object")
    return current_sim().add_contact(location_id, fields), 201

