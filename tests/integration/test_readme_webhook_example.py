"""The README's webhook example, pasted into a shell as a new user would: `curl -d` with
a JSON body (which curl declares as a form) is queued, 202."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.integration.harness import REPO, wait_until
from toky_ghl.keys import queue_key

pytestmark = pytest.mark.integration


def readme_curl_command() -> str:
    """The ``curl …`` command of the README's "Sending a webhook by hand" block."""
    text = (REPO / "README.md").read_text()
    section = text.split("### Sending a webhook by hand", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("curl "))
    command = [lines[start]]
    while command[-1].endswith("\\"):
        command.append(lines[start + len(command)])
    return "\n".join(command)


def test_the_readme_curl_example_queues_the_call(redis_url, real_redis, tmp_path):
    # Given `toky-ghl webhook` started as the README says (on any free port)
    secret = "readme-example-secret-0123456789"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "TOKY_"))}
    env.update(REDIS_URL=redis_url, WEBHOOK_SECRET=secret, PYTHONUNBUFFERED="1")
    log = (tmp_path / "webhook.log").open("w+")
    server = subprocess.Popen([sys.executable, "-m", "cli.main", "webhook", "--port", "0"],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "listening on" in (tmp_path / "webhook.log").read_text(), 60,
                   "the webhook receiver to listen")
        url = re.search(r"listening on (http://[\d.]+:\d+)",
                        (tmp_path / "webhook.log").read_text()).group(1)
        # When the README's curl command is pasted into a shell (only its address changed)
        command = readme_curl_command().replace("http://127.0.0.1:8080", url)
        answer = subprocess.run(["bash", "-c", command], env=env, capture_output=True,
                                text=True, timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    # Then it is accepted and the call is queued
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout) == {"event_id": "call-c-1001", "status": "queued"}
    assert real_redis.llen(queue_key("tokyghl")) == 1
