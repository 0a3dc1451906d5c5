"""Workflows, campaigns and followers of a contact, and opportunities.

Source: the official spec, GoHighLevel/highlevel-api-docs.

- ``apps/contacts.json``: ``POST/DELETE /contacts/{contactId}/workflow/{workflowId}``
  (body CreateWorkflowDto ``{eventStartTime?}``, answer ContactsWorkflowSuccessfulResponseDto
  ``{"succeded": true}``, 200); ``POST/DELETE /contacts/{contactId}/campaigns/{campaignId}``
  (AddContactToCampaignDto: empty; answer ``{"succeded": true}``, 201 / 200);
  ``POST/DELETE /contacts/{contactId}/followers`` (FollowersDTO ``{followers: [...]}``
  required; answers CreateAddFollowersSuccessfulResponseDto ``{followers, followersAdded}``,
  201, and DeleteFollowersSuccessfulResponseDto ``{followers, followersRemoved}``, 200).
  All ``contacts.write``, Version 2021-07-28.
- ``apps/opportunities.json``: ``POST /opportunities/`` (CreateDto: pipelineId,
  locationId, name, status, contactId required; 201 GetPostOpportunitySuccessfulResponseDto
  ``{"opportunity": {...}}``), ``PUT /opportunities/{id}`` (UpdateOpportunityDto; 200),
  ``GET /opportunities/{id}``, ``GET /opportunities/search`` (query ``location_id``
  required, ``contact_id``, ``pipeline_id``, ``pipeline_stage_id``, ``status``; answer
  SearchSuccessfulResponseDto ``{opportunities, meta}``). Scopes opportunities.write /
  opportunities.readonly, Version 2021-07-28.

A workflow enrolls a contact once: a second POST for a contact already in it is
answered 200 ``{"succeded": true}`` and enrolls nothing more. Sources: the spec
documents no error for a contact already in the workflow (its answers are 200
ContactsWorkflowSuccessfulResponseDto, 400, 401, 422 only), and GHL's v1 API
documentation of the same call (rest.gohighlevel.com ``POST /v1/contacts/:contactId/
workflow/:workflowId``) says the request "will add contact in queue to be added in
workflow", i.e. an asynchronous enrolment the API never refuses. Whether a repeat
enrolls again is GHL's per-workflow setting "Allow re-entry" (off by default in
GHL's workflow builder): UNCONFIRMED against the API; this models it off.
``entries`` counts the enrolments, ``requests`` the POSTs for the contact (a
product retrying after a lost answer shows ``requests`` 2, ``entries`` 1).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from simulators.ghl import validation as rules
from simulators.ghl.errors import CONTACTS_VERSION, not_found, unprocessable, wrong_location
from simulators.ghl.gate import current_location, current_sim, endpoint, validated
from simulators.ghl.records import iso_ms, new_id
from simulators.ghl.routes_contacts import WRITE, contact_of

OPP_READ, OPP_WRITE = "opportunities.readonly", "opportunities.write"
bp = Blueprint("ghl_engagement", __name__)


def _now() -> str:
    return iso_ms(current_sim().clock())


# -- workflows -------------------------------------------------------------------
@bp.post("/contacts/<contact_id>/workflow/<workflow_id>")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def add_to_workflow(contact_id: str, workflow_id: str) -> ResponseReturnValue:
    body = validated(rules.WORKFLOW)
    location = current_location()
    contact_of(location, contact_id)
    enrolled = location.workflows.setdefault(workflow_id, {})
    if contact_id not in enrolled:
        enrolled[contact_id] = {"contactId": contact_id, "enrolledAt": _now(), "entries": 1,
                                "requests": 0, "eventStartTime": body.get("eventStartTime")}
    enrolled[contact_id]["requests"] += 1
    return {"succeded": True}


@bp.delete("/contacts/<contact_id>/workflow/<workflow_id>")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def remove_from_workflow(contact_id: str, workflow_id: str) -> ResponseReturnValue:
    validated(rules.WORKFLOW)
    location = current_location()
    contact_of(location, contact_id)
    location.workflows.get(workflow_id, {}).pop(contact_id, None)
    return {"succeded": True}


# -- campaigns -------------------------------------------------------------------
@bp.post("/contacts/<contact_id>/campaigns/<campaign_id>")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def add_to_campaign(contact_id: str, campaign_id: str) -> ResponseReturnValue:
    validated(rules.CAMPAIGN)
    location = current_location()
    contact_of(location, contact_id)
    location.campaigns.setdefault(campaign_id, {}).setdefault(
        contact_id, {"contactId": contact_id, "addedAt": _now()})
    return {"succeded": True}, 201


@bp.delete("/contacts/<contact_id>/campaigns/<campaign_id>")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def remove_from_campaign(contact_id: str, campaign_id: str) -> ResponseReturnValue:
    location = current_location()
    contact_of(location, contact_id)
    location.campaigns.get(campaign_id, {}).pop(contact_id, None)
    return {"succeded": True}


# -- followers -------------------------------------------------------------------
@bp.post("/contacts/<contact_id>/followers")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def add_followers(contact_id: str) -> ResponseReturnValue:
    body = validated(rules.FOLLOWERS)
    location = current_location()
    contact_of(location, contact_id)
    current = location.followers.setdefault(contact_id, [])
    added = [f for f in dict.fromkeys(body["followers"]) if f not in current]
    current.extend(added)
    return {"followers": list(current), "followersAdded": added}, 201


@bp.delete("/contacts/<contact_id>/followers")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def remove_followers(contact_id: str) -> ResponseReturnValue:
    body = validated(rules.FOLLOWERS)
    location = current_location()
    contact_of(location, contact_id)
    current = location.followers.setdefault(contact_id, [])
    removed = [f for f in current if f in body["followers"]]
    location.followers[contact_id] = [f for f in current if f not in removed]
    return {"followers": location.followers[contact_id], "followersRemoved": removed}


# -- opportunities ---------------------------------------------------------------
def _opportunity(opportunity_id: str) -> dict[str, Any]:
    found = current_location().opportunities.get(opportunity_id)
    if found is None:
        raise not_found("Opportunity")
    return found


@bp.get("/opportunities/search")
@endpoint(OPP_READ, CONTACTS_VERSION)
def search_opportunities() -> ResponseReturnValue:
    location_id = request.args.get("location_id")
    if not location_id:
        raise unprocessable(["location_id should not be empty"])
    location = current_location()
    if location_id != location.location_id:
        raise wrong_location()
    filters = {"contactId": request.args.get("contact_id"),
               "pipelineId": request.args.get("pipeline_id"),
               "pipelineStageId": request.args.get("pipeline_stage_id"),
               "status": request.args.get("status")}
    found = [o for o in location.opportunities.values()
             if all(v is None or v == "all" and k == "status" or o.get(k) == v
                    for k, v in filters.items())]
    return {"opportunities": found, "meta": {"total": len(found)}}


@bp.get("/opportunities/<opportunity_id>")
@endpoint(OPP_READ, CONTACTS_VERSION)
def get_opportunity(opportunity_id: str) -> ResponseReturnValue:
    return {"opportunity": _opportunity(opportunity_id)}


@bp.post("/opportunities/")
@endpoint(OPP_WRITE, CONTACTS_VERSION, write=True)
def create_opportunity() -> ResponseReturnValue:
    body = validated(rules.CREATE_OPPORTUNITY)
    location = current_location()
    if body["locationId"] != location.location_id:
        raise wrong_location()
    contact_of(location, body["contactId"])
    now = _now()
    opportunity = {"id": new_id(), **body, "createdAt": now, "updatedAt": now,
                   "lastStatusChangeAt": now, "lastStageChangeAt": now}
    location.opportunities[opportunity["id"]] = opportunity
    return {"opportunity": opportunity}, 201


@bp.put("/opportunities/<opportunity_id>")
@endpoint(OPP_WRITE, CONTACTS_VERSION, write=True)
def update_opportunity(opportunity_id: str) -> ResponseReturnValue:
    body = validated(rules.UPDATE_OPPORTUNITY)
    opportunity = _opportunity(opportunity_id)
    now = _now()
    if body.get("pipelineStageId") not in (None, opportunity.get("pipelineStageId")):
        opportunity["lastStageChangeAt"] = now
    if body.get("status") not in (None, opportunity.get("status")):
        opportunity["lastStatusChangeAt"] = now
    opportunity.update(body, updatedAt=now)
    return {"opportunity": opportunity}
