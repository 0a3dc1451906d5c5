"""GHL simulator: workflows, campaigns, followers and opportunities of a contact
(apps/contacts.json, apps/opportunities.json; see simulators/ghl/routes_engagement.py)."""

from __future__ import annotations

import pytest

from simulators.ghl.testing import GhlTestClient, make_api

LOC = "locAAAAAAAAAAAAAAAAA"


@pytest.fixture
def api() -> GhlTestClient:
    return make_api(LOC, scopes="contacts.readonly contacts.write opportunities.readonly "
                               "opportunities.write")


@pytest.fixture
def contact_id(api: GhlTestClient) -> str:
    return api.post("/contacts/", {"locationId": LOC, "phone": "+15125550101"}).json[
        "contact"]["id"]


def test_a_repeated_workflow_post_succeeds_and_enrolls_once(api, contact_id):
    path = f"/contacts/{contact_id}/workflow/wf1"
    first = api.post(path, {"eventStartTime": "2026-12-01T15:00:00+00:00"})
    again = api.post(path, {})

    assert (first.status_code, first.json) == (200, {"succeded": True})
    assert (again.status_code, again.json) == (200, {"succeded": True})
    enrolled = api.sim.state()["locations"][LOC]["workflows"]["wf1"]
    assert list(enrolled) == [contact_id]
    assert (enrolled[contact_id]["entries"], enrolled[contact_id]["requests"]) == (1, 2)


def test_a_workflow_post_for_an_unknown_contact_is_refused_and_enrolls_nobody(api):
    answer = api.post("/contacts/nosuchcontact0000001/workflow/wf1", {})
    assert answer.status_code in (400, 404)
    assert api.sim.state()["locations"][LOC]["workflows"].get("wf1", {}) == {}


def test_removing_from_a_workflow_then_adding_enrolls_again(api, contact_id):
    path = f"/contacts/{contact_id}/workflow/wf1"
    api.post(path, {})
    assert api.delete(path, {}).status_code == 200
    assert api.sim.state()["locations"][LOC]["workflows"]["wf1"] == {}
    api.post(path, {})
    assert list(api.sim.state()["locations"][LOC]["workflows"]["wf1"]) == [contact_id]
