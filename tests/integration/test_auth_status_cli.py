"""`toky-ghl auth status` and `auth forget` as an operator runs them, on a real Redis:
which credential is in force, a warning when GHL_TOKEN is set but not used, and what
to set when there is none."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from tests.integration.test_pipeline_dead_letters import cli

pytestmark = pytest.mark.integration

ENV_TOKEN = "pit-from-env-000000001"
ROTATED = "pit-rotated-0000000002"


@pytest.fixture
def env(redis_url, real_redis):
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "TOKY_"))}
    return {**base, "REDIS_URL": redis_url, "GHL_LOCATION_ID": "loc-auth-cli",
            "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(), "LOG_LEVEL": "INFO"}


def test_no_credentials_says_what_to_set_and_exits_1(env):
    result = cli(env, "auth", "status")
    assert result.returncode == 1
    assert "in force      NONE" in result.stdout
    assert "set GHL_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_status_names_the_credential_in_force_and_warns_when_ghl_token_is_ignored(env):
    with_token = {**env, "GHL_TOKEN": ENV_TOKEN}
    # Given GHL_TOKEN only: it is in force, no warning
    first = cli(with_token, "auth", "status")
    assert first.returncode == 0 and "in force      GHL_TOKEN" in first.stdout
    assert "WARNING" not in first.stdout

    # When another token is rotated in
    assert cli(with_token, "auth", "rotate", stdin=ROTATED + "\n").returncode == 0
    shown = cli(with_token, "auth", "status")
    as_json = json.loads(cli(with_token, "auth", "status", "--json").stdout)
    # Then the stored one is in force, and GHL_TOKEN is said to be ignored (no token shown)
    assert shown.returncode == 0
    assert "stored in Redis (version 1, by rotate), not GHL_TOKEN" in shown.stdout
    assert "GHL_TOKEN is set but NOT used" in shown.stdout
    assert "auth forget" in shown.stderr
    assert as_json["warning"] and as_json["credentials_version"] == 1
    for output in (shown.stdout, shown.stderr, json.dumps(as_json)):
        assert ENV_TOKEN not in output and ROTATED not in output

    # When the same token as GHL_TOKEN is rotated in, there is nothing to warn about
    assert cli(with_token, "auth", "rotate", stdin=ENV_TOKEN).returncode == 0
    same = cli(with_token, "auth", "status")
    assert "the same as GHL_TOKEN" in same.stdout and "WARNING" not in same.stdout

    # When the operator forgets the stored credentials (only with --yes)
    refused = cli(with_token, "auth", "forget")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    forgotten = cli(with_token, "auth", "forget", "--yes")
    assert forgotten.returncode == 0 and "version 2" in forgotten.stdout
    # Then GHL_TOKEN is in force again
    after = cli(with_token, "auth", "status")
    assert after.returncode == 0 and "in force      GHL_TOKEN" in after.stdout
    # And a later rotation does not reuse a version number
    assert "(version 3)" in cli(with_token, "auth", "rotate", stdin=ROTATED).stdout
