"""``toky-ghl webhooks register|list|delete`` and ``toky-ghl agents`` as processes, against
the Toky (and GHL) simulators over HTTP (``ghl``: the fixture of tests/integration/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from simulators.serve import serve_in_thread
from simulators.toky import TokySim, create_app, seed_demo

pytestmark = pytest.mark.integration

KEY = "sim-key-hooks"
SECRET = "whsec-Reg-0123456789abcdef"


@pytest.fixture
def toky():
    sim = TokySim(api_key=KEY)
    seed_demo(sim)
    with serve_in_thread(create_app(sim)) as server:
        yield sim, server


def cli(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def base_env(server, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "TOKY_", "WEBHOOK"))}
    return {**env, "TOKY_API_BASE": f"{server.url}/v1", "TOKY_API_KEY": KEY, **extra}


def test_register_list_delete_never_print_the_token(toky):
    sim, server = toky
    env = base_env(server, WEBHOOK_SECRET=SECRET)
    # Given no webhooks
    # When the four handled events are registered, twice, then listed
    first = cli(env, "webhooks", "register", "https://hooks.example.com/")
    again = cli(env, "webhooks", "register", "https://hooks.example.com",
                "--event", "new_sms")
    listed = cli(env, "webhooks", "list", "--json")
    # Then Toky holds four hooks carrying the token; the output shows it masked, never plain
    hooks = sim.webhooks()
    assert first.returncode == 0, first.stderr
    assert sorted(h["event"] for h in hooks) == ["inbound_call_ended", "new_sms",
                                                 "new_voicemail", "outbound_call_ended"]
    assert all(h["hook_url"] == f"https://hooks.example.com/webhooks/toky/{h['event']}"
               f"?token={SECRET}" for h in hooks)
    assert "new_sms: registered (id " in first.stdout
    assert "https://hooks.example.com/webhooks/toky/new_sms?token=***" in first.stdout
    assert "new_sms: already registered" in again.stdout
    shown = json.loads(listed.stdout)
    assert {h["hook_url"].rsplit("=", 1)[1] for h in shown} == {"***"}
    # When one is deleted, and then deleted again
    hook_id = hooks[0]["id"]
    deleted = cli(env, "webhooks", "delete", hook_id)
    missing = cli(env, "webhooks", "delete", hook_id)
    # Then it is gone, and the second delete says so with status 1
    assert deleted.returncode == 0 and f"deleted webhook {hook_id}" in deleted.stdout
    assert missing.returncode == 1 and "no webhook with id" in missing.stderr
    assert len(sim.webhooks()) == 3
    everything = "".join(r.stdout + r.stderr for r in (first, again, listed, deleted, missing))
    assert SECRET not in everything


def test_register_needs_the_secret(toky):
    _sim, server = toky
    # Given no WEBHOOK_SECRET
    # When registering
    result = cli(base_env(server), "webhooks", "register", "https://hooks.example.com")
    # Then exit 2 naming it
    assert result.returncode == 2 and "WEBHOOK_SECRET" in result.stderr


def test_register_refuses_a_secret_the_receiver_would_refuse(toky):
    sim, server = toky
    # Given a WEBHOOK_SECRET of 12 characters
    env = {**base_env(server), "WEBHOOK_SECRET": "short-secret"}
    # When registering / Then exit 2 naming it, and nothing registered with Toky
    result = cli(env, "webhooks", "register", "https://hooks.example.com")
    assert result.returncode == 2 and "WEBHOOK_SECRET is 12 characters" in result.stderr
    assert sim.webhooks() == []


def test_agents_lists_both_sides_and_suggests_the_block(toky, ghl):
    sim, server = toky
    # Given the demo's agents, who are GHL users too, one more in another case, and one
    # who is not a GHL user
    sim.add_agent(email="Ben.Cole@Demo.Example", fullname="Ben Cole (second line)")
    sim.add_agent(email="temp.agent@demo.example", fullname="Temp Agent")
    env = base_env(server, GHL_API_BASE=ghl.url, GHL_TOKEN=ghl.token,
                   GHL_LOCATION_ID=ghl.location_id, GHL_SCOPES="contacts.readonly users.readonly")
    # When `toky-ghl agents` runs
    result = cli(env, "agents")
    # Then it lists both sides and maps the matching agent; the others are commented out
    assert result.returncode == 0, result.stderr
    assert "Toky agents (4):" in result.stdout and "GHL users (2):" in result.stdout
    assert '  "ana.ruiz@demo.example": "SimUserAnaRuiz000001"' in result.stdout
    assert '  "ben.cole@demo.example": "SimUserBenCole000002"' in result.stdout
    assert '  # "temp.agent@demo.example": <GHL user id>' in result.stdout
    # And with --json (logging at DEBUG on stderr), stdout is one JSON object
    as_json = cli({**env, "LOG_LEVEL": "DEBUG"}, "agents", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["agents"]["ana.ruiz@demo.example"] == "SimUserAnaRuiz000001"
    assert as_json.stderr.strip() and ghl.token not in as_json.stderr


def test_agents_without_the_users_scope_says_so(toky, ghl):
    _sim, server = toky
    # Given GHL_SCOPES without users.readonly
    env = base_env(server, GHL_API_BASE=ghl.url, GHL_TOKEN=ghl.token,
                   GHL_LOCATION_ID=ghl.location_id, GHL_SCOPES="contacts.readonly")
    # When `toky-ghl agents` runs
    result = cli(env, "agents")
    # Then it still lists the agents, and names the missing scope instead of failing
    assert result.returncode == 0, result.stderr
    assert "GHL_SCOPES lacks users.readonly" in result.stdout
    assert "(GHL users not listed)" in result.stdout
