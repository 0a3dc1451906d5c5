"""The password of REDIS_URL is in no message: configuration errors, the settings' repr,
log lines (registered as a secret), and what a command prints about a URL it cannot read."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from toky_ghl import logs
from toky_ghl.errors import ConfigError
from toky_ghl.settings import Settings

PASSWORD = "Pw-Redis-5e3b91"


@pytest.mark.parametrize("url", [
    f"ftp://:{PASSWORD}@cache.internal:6379/0",  # wrong scheme
    f"redis://:{PASSWORD}@cache.internal:port/0",  # port not a number
    f"redis://:pa/{PASSWORD}@cache.internal:6379",  # an unencoded '/' in the password
])
def test_a_bad_redis_url_is_refused_without_its_password(url):
    with pytest.raises(ConfigError, match="REDIS_URL") as caught:
        Settings.from_env({"REDIS_URL": url})
    assert PASSWORD not in str(caught.value) and "***" in str(caught.value)


def test_the_settings_repr_masks_the_password():
    settings = Settings.from_env({"REDIS_URL": f"redis://app:{PASSWORD}@cache.internal:6379/2"})
    assert PASSWORD not in repr(settings)
    assert "redis://app:***@cache.internal:6379/2" in repr(settings)
    assert settings.redis_url.endswith(f"{PASSWORD}@cache.internal:6379/2")  # used as given


def test_the_password_is_scrubbed_from_log_lines_wherever_it_appears():
    # Given the settings' secrets registered (every command does it)
    settings = Settings.from_env({"REDIS_URL": f"rediss://:{PASSWORD}@cache.internal:6380/0"})
    logs.register_settings_secrets(settings)
    # When a line quotes it alone (not in a URL)
    out = logs.redact(None, "error", {"event": f"AUTH failed for {PASSWORD}"})
    # Then it is scrubbed; the host stays readable
    assert out["event"] == "AUTH failed for ***"
    assert logs.scrub("redis://cache.internal:6380/0") == "redis://cache.internal:6380/0"


def test_a_command_given_an_unreadable_url_prints_it_masked():
    env = {**os.environ, "REDIS_URL": f"redis://:pa/{PASSWORD}@cache.internal:6379"}
    result = subprocess.run([sys.executable, "-m", "cli.main", "status"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "REDIS_URL" in result.stderr and "***" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
