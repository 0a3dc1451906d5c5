"""``toky-ghl sandbox``: both simulators alone, and the environment that points at them."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys

import pytest
import requests

from tests.integration.harness import REPO

pytestmark = pytest.mark.integration

EXPECTED = {"GHL_API_BASE", "GHL_TOKEN", "GHL_LOCATION_ID", "GHL_CALENDAR_ID", "GHL_SCOPES",
            "TOKY_API_BASE", "TOKY_API_KEY"}


def _read_exports(proc: subprocess.Popen) -> dict[str, str]:
    exports: dict[str, str] = {}
    for line in proc.stdout:
        if line.startswith("export "):
            name, _, value = line[len("export "):].strip().partition("=")
            exports[name] = shlex.split(value)[0]
        if "Ctrl-C stops" in line:
            return exports
    raise AssertionError(f"sandbox ended before printing its environment: {exports}")


def test_sandbox_prints_a_working_environment_and_stops_on_ctrl_c():
    # Given the sandbox started with no configuration
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "TOKY_"))}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "sandbox"], cwd=REPO,
                            env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        # When it prints the environment
        exports = _read_exports(proc)
        assert set(exports) == EXPECTED
        assert "contacts.write" in exports["GHL_SCOPES"].split()
        # Then the GHL simulator takes the printed token for the printed location
        ghl = requests.get(f"{exports['GHL_API_BASE']}/contacts/",
                           params={"locationId": exports["GHL_LOCATION_ID"]},
                           headers={"Authorization": f"Bearer {exports['GHL_TOKEN']}",
                                    "Version": "2021-07-28"}, timeout=5)
        assert ghl.status_code == 200, ghl.text
        # And the Toky simulator takes the printed key and holds the demo calls
        from clients.toky import TokyClient

        with TokyClient(base_url=exports["TOKY_API_BASE"],
                        api_key=exports["TOKY_API_KEY"]) as toky:
            assert toky.agents()
        state = requests.get(f"{exports['TOKY_API_BASE']}/_sim/state", timeout=5).json()
        assert state
        # And Ctrl-C stops it cleanly
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert "sandbox stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sandbox_rejects_a_bad_port_with_usage():
    result = subprocess.run([sys.executable, "-m", "cli.main", "sandbox", "--ghl-port",
                             "http"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert re.search(r"usage: toky-ghl sandbox", result.stderr)
