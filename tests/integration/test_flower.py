"""Flower against a real worker: behind basic auth, tasks named by their event label,
the worker listed, metrics served, and the password nowhere but the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.constants import APPLY_EVENT_TASK
from contract.events import event_label
from tests.integration.harness import load_samples, wait_until

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.integration.flower_support"]  # the synced_flower fixture


def test_without_credentials_every_page_and_api_answers_401(synced_flower):
    # Given Flower started with FLOWER_BASIC_AUTH
    for path in ("/", "/workers", "/tasks", "/api/tasks", "/api/workers"):
        # When asked without credentials, or with a wrong password
        anonymous = synced_flower.get(path, auth=None)
        wrong = synced_flower.get(path, auth=(synced_flower.auth[0], "not-the-password"))
        # Then it refuses, and asks for basic auth
        assert anonymous.status_code == 401, path
        assert wrong.status_code == 401, path
        if not path.startswith("/api/"):  # pages ask the browser for credentials
            assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
        # And with them it answers
        assert synced_flower.get(path).status_code == 200, path


def test_synced_tasks_are_listed_by_event_label_without_data(synced_flower):
    # Given every contract sample applied by the worker while Flower watched
    samples = load_samples()
    # When the tasks are listed through Flower's API
    response = synced_flower.get("/api/tasks")
    tasks = response.json()
    # Then each event is one task, named by its label (type, Toky key, event id)
    labels = {t["args"]: t for t in tasks.values()}
    for sample in samples:
        task = labels[event_label(sample)]
        assert task["name"] == APPLY_EVENT_TASK
        assert task["state"] == "SUCCESS"
        assert task["result"].startswith("'applied")
        assert task["worker"].startswith("w1@")
    # And a task's own page shows the label as its arguments
    call = labels[event_label(samples[3])]
    page = synced_flower.get(f"/task/{call['uuid']}").text
    assert event_label(samples[3]) in page
    # And no event data (names, e-mails, full phone numbers, note text) nor token shows
    for private in ("Lena", "lena@example.com", "+14155550134", "Decision maker",
                    "sim-token", synced_flower.auth[1]):
        assert private not in response.text
        assert private not in page


def test_the_worker_is_listed_with_the_sync_task(synced_flower):
    # When Flower is asked for the workers (refresh: it inspects them)
    found: dict = {}

    def listed() -> bool:
        found.update(synced_flower.get("/api/workers?refresh=1").json())
        return any(n.startswith("w1@") for n in found)

    wait_until(listed, 30, "the worker in /api/workers?refresh=1")
    workers = found
    # Then the worker is there, consuming the events queue with the apply task
    name = next(n for n in workers if n.startswith("w1@"))
    assert APPLY_EVENT_TASK in workers[name]["registered"]
    assert any(q["name"] == "toky-ghl.events" for q in workers[name]["active_queues"])
    assert synced_flower.get("/api/workers?status=true").json()[name] is True


def test_metrics_and_healthcheck_are_served_without_credentials(synced_flower):
    # /metrics is Flower's Prometheus endpoint; Flower serves it (and /healthcheck) openly
    metrics = synced_flower.get("/metrics", auth=None)
    assert metrics.status_code == 200
    assert f'flower_events_total{{task="{APPLY_EVENT_TASK}",type="task-succeeded"' in (
        metrics.text)
    assert "flower_task_runtime_seconds_bucket" in metrics.text
    # it carries counts by task name and worker, never task arguments
    assert "evt=" not in metrics.text
    health = synced_flower.get("/healthcheck", auth=None)
    assert (health.status_code, health.text) == (200, "OK")


def test_the_password_is_not_on_the_command_line_nor_in_the_log(synced_flower):
    # Given Flower running with FLOWER_BASIC_AUTH in its environment
    pid = synced_flower.proc.pid
    # Then the password is not in its command line (what `ps` shows to every user)
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    assert "flower" in cmdline
    password = synced_flower.auth[1]
    assert password not in cmdline
    # Nor in anything it logged
    log = synced_flower.log()
    assert "Visit me at" in log
    assert password not in log
