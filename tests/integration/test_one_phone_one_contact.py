"""Guarantee 3 end to end: two phones sharing an email, a real worker, the simulator over
HTTP (email-first matching), and what ``toky-ghl status`` / ``conflicts`` then show."""

from __future__ import annotations

import json

import pytest

from tests.integration.harness import worker_env
from tests.integration.test_pipeline_dead_letters import cli

pytestmark = pytest.mark.integration

MARIA, PEDRO = "+15125550301", "+15125550302"
EMAIL = "family@example.com"


def contact(event_id: str, phone: str, name: str, at: str) -> dict:
    return {"id": event_id, "type": "contact.created", "occurred_at": at,
            "data": {"phone": phone, "contact_name": name, "email": EMAIL}}


@pytest.mark.parametrize("allow_duplicates", [False, True],
                         ids=["duplicates-refused", "duplicates-allowed"])
def test_two_phones_one_email_stay_two_contacts(ghl, pipeline, start_worker, redis_url,
                                                allow_duplicates):
    # Given a location with GHL's "Allow Duplicate Contact" setting off or on
    ghl.sim.set_allow_duplicates(ghl.location_id, allow_duplicates)
    start_worker()
    # When Maria's contact, then Pedro's with the same email, are synced
    pipeline.enqueue([contact("m", MARIA, "Maria Family", "2026-11-02T09:00:00Z")])
    pipeline.wait_finished(["m"])
    pipeline.enqueue([contact("p", PEDRO, "Pedro Family", "2026-11-02T09:01:00Z")])
    pipeline.wait_finished(["p"])
    # Then GHL has two contacts; Maria's kept her name, phone and email
    mine, his = ghl.contact_by_phone(MARIA), ghl.contact_by_phone(PEDRO)
    assert (mine["name"], mine["email"]) == ("Maria Family", EMAIL)
    assert his["name"] == "Pedro Family" and his["id"] != mine["id"]
    assert (his["email"] == EMAIL) is allow_duplicates
    # And the operator sees which contacts share the email
    env = worker_env(redis_url, ghl)
    assert json.loads(cli(env, "status", "--json").stdout)["email_conflicts"] == 1
    assert "email conflicts 1" in cli(env, "status").stdout
    (line,) = [json.loads(x) for x in cli(env, "conflicts", "--json").stdout.splitlines()]
    assert line["email"] == EMAIL
    assert line["contacts"] == {MARIA: mine["id"], PEDRO: his["id"]}
    text = cli(env, "conflicts").stdout
    assert EMAIL in text and f"{MARIA} → {mine['id']} (has the email)" in text
    # And once resolved, it can be cleared
    assert cli(env, "conflicts", "clear", EMAIL).stdout.strip() == "cleared 1"
    assert cli(env, "conflicts").stdout.strip() == "no email conflicts"
