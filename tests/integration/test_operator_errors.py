"""What an operator sees when something is wrong: one clear line on stderr and exit
status 2, never a traceback, never a password. Every case runs the real command line."""

from __future__ import annotations

import json
import socket
import sys

import pytest

from tests.integration.harness import wait_until, worker_env
from tests.integration.test_pipeline_dead_letters import cli

pytestmark = pytest.mark.integration

PASSWORD = "hunter2-redis-pw"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dead_redis_env(ghl):
    """A full configuration whose REDIS_URL (with a password) answers nothing."""
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    return worker_env(url, ghl, TOKY_API_KEY="toky-key-1234", TOKY_API_BASE="http://127.0.0.1:9",
                      WEBHOOK_SECRET="webhook-secret-0123456789abcdef",
                      FLOWER_BASIC_AUTH="admin:flower-pw-1",
                      MIRROR_GHL_TO_TOKY="1", LOG_LEVEL="DEBUG")


@pytest.mark.parametrize("command", [
    ["status"], ["status", "--json"], ["dlq", "list"], ["dlq", "replay", "--all"],
    ["auth", "status"], ["worker"], ["enqueue", "-"], ["poll", "--once"], ["mirror", "--once"],
    ["webhook", "--port", "0"], ["flower", "--port", "{port}"], ["run", "--duration", "5"],
])
def test_redis_unreachable_is_one_line_and_exit_2_for_every_command(dead_redis_env, command):
    # Given REDIS_URL pointing at nothing
    command = [part.format(port=free_port()) for part in command]
    masked = dead_redis_env["REDIS_URL"].replace(PASSWORD, "***")
    # When the operator runs the command
    result = cli(dead_redis_env, *command, stdin="")
    # Then it exits 2 with the one message naming REDIS_URL, the password masked
    assert result.returncode == 2, (result.stdout, result.stderr[-2000:])
    assert f"toky-ghl {command[0]}: cannot reach Redis (REDIS_URL={masked})" in result.stderr
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_worker_usage_errors_exit_2_with_a_message(ghl, redis_url, real_redis):
    env = worker_env(redis_url, ghl)
    # When the worker is given an option Celery does not know, or a bad value
    bogus = cli(env, "worker", "--bogus-opt")
    bad_value = cli(env, "worker", "--concurrency", "abc")
    # Then each exits 2 naming the option, without a traceback
    assert bogus.returncode == 2 and "No such option '--bogus-opt'" in bogus.stderr
    assert bad_value.returncode == 2 and "--concurrency" in bad_value.stderr
    assert "abc" in bad_value.stderr
    assert "Traceback" not in bogus.stderr + bad_value.stderr


def test_worker_help_shows_the_hostname_pattern_as_celery_takes_it():
    shown = cli({}, "worker", "--help")
    assert shown.returncode == 0
    assert "w2@%h" in shown.stdout and "%%" not in shown.stdout


@pytest.mark.parametrize("command", [["webhook"], ["flower"]])
def test_a_busy_port_is_a_usage_error(ghl, redis_url, real_redis, command):
    # Given something already listening on the port
    env = worker_env(redis_url, ghl, WEBHOOK_SECRET="webhook-secret-0123456789abcdef",
                     FLOWER_BASIC_AUTH="admin:flower-pw-1")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        # When the server is started on it
        result = cli(env, *command, "--port", str(port))
    # Then it exits 2 naming the address, without a traceback
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_with_no_workers_is_a_usage_error():
    result = cli({}, "run", "--workers", "0")
    assert result.returncode == 2
    assert "--workers: must be at least 1, got 0" in result.stderr


def test_logs_go_to_stderr_and_stdout_stays_parseable(ghl, redis_url, real_redis):
    # Given logging at DEBUG
    env = worker_env(redis_url, ghl, LOG_LEVEL="DEBUG", LOG_FORMAT="json")
    # When the JSON outputs are asked for
    status = cli(env, "status", "--json")
    dlq = cli(env, "dlq", "list", "--json")
    # Then stdout is only the answer (JSON), and the token is in neither stream
    assert status.returncode == 0 and json.loads(status.stdout)["queued"] == 0
    assert dlq.returncode == 0 and dlq.stdout == ""
    for result in (status, dlq):
        assert ghl.token not in result.stdout + result.stderr
        for line in result.stderr.splitlines():  # log lines, when any, are JSON on stderr
            if line.startswith("{"):
                assert json.loads(line)["level"]


def test_a_dead_letter_is_one_warning_with_its_reason_not_an_error_traceback(
        ghl, pipeline, start_worker):
    # Given a worker and an event with an unreadable phone (pushed past the producer)
    worker = start_worker(LOG_FORMAT="json")
    bad = {"id": "dl-log-1", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
           "data": {"phone": "not a phone"}}
    pipeline.publisher.republish([bad])
    # When it is dead-lettered
    pipeline.wait_finished(["dl-log-1"])
    wait_until(lambda: "dl-log-1" in worker.log() and "dead-lettered" in worker.log(), 30,
               "the dead letter in the worker's log")
    worker.stop()
    lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    # Then the worker logged a warning naming the reason, and no error nor traceback
    warnings = [entry for entry in lines if entry.get("event") == "dead-lettered"]
    assert warnings and warnings[0]["level"] == "warning" and "data.phone" in warnings[0]["reason"]
    assert "Traceback" not in worker.log()
    assert [entry for entry in lines if entry.get("level") in ("error", "critical")] == []


if sys.platform != "linux":  # pragma: no cover
    pytest.skip("socket semantics checked on Linux", allow_module_level=True)
