"""GHL endpoints the automations use beyond the contract's: workflows, campaigns,
followers and opportunities (a mixin of ``GhlClient``, over ``GhlTransport._call``).

Paths, bodies and scopes from the official spec (GoHighLevel/highlevel-api-docs):
``apps/contacts.json`` (``/contacts/{contactId}/workflow/{workflowId}`` with
CreateWorkflowDto, ``/contacts/{contactId}/campaigns/{campaignId}``,
``/contacts/{contactId}/followers`` with FollowersDTO; all ``contacts.write``) and
``apps/opportunities.json`` (``/opportunities/`` CreateDto, ``/opportunities/{id}``
UpdateOpportunityDto, ``GET /opportunities/search``; ``opportunities.write`` /
``opportunities.readonly``; Version 2021-07-28).
"""

from __future__ import annotations

from typing import Any

from clients.ghl.transport import GhlTransport, segment


class EngagementEndpoints(GhlTransport):
    """Workflows, campaigns, followers, opportunities."""

    def _contact(self, contact_id: str) -> str:
        return f"/contacts/{segment(contact_id, 'contact_id')}"

    # -- workflows and campaigns -----------------------------------------------
    def add_to_workflow(self, contact_id: str, workflow_id: str,
                        event_start_time: str | None = None) -> dict[str, Any]:
        body = {"eventStartTime": event_start_time} if event_start_time else {}
        return self._json("POST", f"{self._contact(contact_id)}/workflow/"
                                  f"{segment(workflow_id, 'workflow_id')}", json=body)

    def remove_from_workflow(self, contact_id: str, workflow_id: str) -> dict[str, Any]:
        return self._json("DELETE", f"{self._contact(contact_id)}/workflow/"
                                    f"{segment(workflow_id, 'workflow_id')}", json={})

    def add_to_campaign(self, contact_id: str, campaign_id: str) -> dict[str, Any]:
        return self._json("POST", f"{self._contact(contact_id)}/campaigns/"
                                  f"{segment(campaign_id, 'campaign_id')}", json={})

    def remove_from_campaign(self, contact_id: str, campaign_id: str) -> dict[str, Any]:
        return self._json("DELETE", f"{self._contact(contact_id)}/campaigns/"
                                    f"{segment(campaign_id, 'campaign_id')}")

    # -- followers ---------------------------------------------------------------
    def add_followers(self, contact_id: str, followers: list[str]) -> dict[str, Any]:
        return self._json("POST", f"{self._contact(contact_id)}/followers",
                          json={"followers": list(followers)})

    def remove_followers(self, contact_id: str, followers: list[str]) -> dict[str, Any]:
        return self._json("DELETE", f"{self._contact(contact_id)}/followers",
                          json={"followers": list(followers)})

    # -- opportunities -------------------------------------------------------------
    def search_opportunities(self, *, contact_id: str, pipeline_id: str) -> list[dict[str, Any]]:
        """The contact's opportunities in ``pipeline_id`` (``GET /opportunities/search``)."""
        return self._rows("GET", "/opportunities/search", params={
            "location_id": self.location_id, "contact_id": contact_id,
            "pipeline_id": pipeline_id}, expect="opportunities")

    def create_opportunity(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` needs pipelineId, name, status, contactId (locationId is added)."""
        return self._json("POST", "/opportunities/",
                          json={**payload, "locationId": self.location_id},
                          expect="opportunity")

    def update_opportunity(self, opportunity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._json("PUT", f"/opportunities/{segment(opportunity_id, 'opportunity_id')}",
                          json=payload, expect="opportunity")
