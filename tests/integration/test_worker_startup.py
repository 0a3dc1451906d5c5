"""A bad configuration stops a worker at start-up, however it is started."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.harness import REPO, worker_env

pytestmark = pytest.mark.integration

BAD_MAP = "custom_fields:\n  - ghl_id: abc\n    toky_field: company\n    type: date\n"


@pytest.mark.parametrize("command", [
    ["-m", "celery", "-A", "worker", "worker", "-Q", "toky-ghl.events"],
    ["-m", "cli.main", "worker"],
], ids=["celery -A worker worker", "toky-ghl worker"])
def test_a_bad_field_map_stops_the_worker_naming_the_entry(command, redis_url, ghl, tmp_path):
    field_map = tmp_path / "map.yaml"
    field_map.write_text(BAD_MAP)
    env = worker_env(redis_url, ghl, FIELD_MAP=str(field_map))
    result = subprocess.run([sys.executable, *command], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "custom_fields[0].type" in result.stderr and "'date'" in result.stderr


BAD_RULES = """\
rules:
  - when: {event: call.ended}
    do:
      - create_task: {title: "Call back {{ data.from_number }}", due_in: soon}
"""


@pytest.mark.parametrize("command", [
    ["-m", "celery", "-A", "worker", "worker", "--pool", "solo"],
    ["-m", "cli.main", "worker"],
], ids=["celery -A worker worker", "toky-ghl worker"])
def test_a_bad_rules_file_stops_the_worker_naming_the_rule(command, redis_url, ghl, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(BAD_RULES)
    env = worker_env(redis_url, ghl, AUTOMATIONS=str(rules))
    result = subprocess.run([sys.executable, *command], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "rules[0].do[0].due_in: expected a duration like 90m, got 'soon'" in result.stderr
