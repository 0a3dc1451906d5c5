"""The logging pipeline: redaction wherever a secret appears, JSON off a terminal and
coloured on one, Celery's own lines through the same processors, LOG_LEVEL, and the
task context (event id, type, Toky key, task id, location) on every line of a task."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest
import structlog

from toky_ghl import logs
from toky_ghl.errors import ConfigError
from toky_ghl.settings import Settings

TOKEN = "pit-6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
TOKY_KEY = "tk_live_Zx81Qw"
HOOK_SECRET = "hook-s3cret-Vb7"




def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _redact(**event) -> dict:
    return logs.redact(None, "info", event)


# -- the processor --------------------------------------------------------------------


def test_values_under_secret_looking_keys_are_replaced_at_any_depth():
    out = _redact(event="ghl.request", token="abc", GHL_TOKEN="abc", password="pw",
                  client_secret="cs", refresh_token="rt", api_key="k", basic_auth="u:p",
                  headers={"Authorization": "Bearer abc", "X-Toky-Key": "k", "Accept": "json"},
                  attempts=[{"access_token": "a"}, {"status": 200}])
    assert out["event"] == "ghl.request"
    for key in ("token", "GHL_TOKEN", "password", "client_secret", "refresh_token", "api_key",
                "basic_auth"):
        assert out[key] == logs.REDACTED, key
    assert out["headers"] == {"Authorization": "***", "X-Toky-Key": "***", "Accept": "json"}
    assert out["attempts"] == [{"access_token": "***"}, {"status": 200}]


def test_registered_secrets_are_scrubbed_from_every_string_wherever_they_appear():
    logs.register_secrets([TOKEN, TOKY_KEY, HOOK_SECRET, None, ""])
    out = _redact(event=f"GHL said: token {TOKEN} is invalid",
                  detail={"nested": [f"key={TOKY_KEY};", ("x", f"/hook?t={HOOK_SECRET}")]})
    flat = json.dumps(out)
    for secret in (TOKEN, TOKY_KEY, HOOK_SECRET):
        assert secret not in flat
    assert out["event"] == "GHL said: token *** is invalid"


@pytest.mark.parametrize(("text", "expected"), [
    ("sent Authorization: Bearer eyJhbGciOi.J9x-y", "sent Authorization: ***"),
    ("header {'Authorization': 'Basic YWRtaW46cHc='}", "header {'Authorization': '***'}"),
    ("retrying with Bearer eyJhbGciOi.J9x", "retrying with Bearer ***"),
    ("curl -u x -H 'X: Basic YWRtaW46cHc='", "curl -u x -H 'X: Basic ***'"),
    ("Broker redis://:hunter2@redis:6379/0", "Broker redis://:***@redis:6379/0"),
    ("POST https://admin:pw@flower/api", "POST https://admin:***@flower/api"),
    ("POST /webhooks/toky/new_sms?token=abc123&x=1", "POST /webhooks/toky/new_sms?token=***&x=1"),
    ("oauth answered {\"refresh_token\": \"rt-9\", \"expires_in\": 86399}",
     "oauth answered {\"refresh_token\": \"***\", \"expires_in\": 86399}"),
    ("env GHL_TOKEN=abc WEBHOOK_SECRET=def", "env GHL_TOKEN=*** WEBHOOK_SECRET=***"),
    ("password: hunter2", "password: ***"),
])
def test_credentials_written_into_text_are_scrubbed(text, expected):
    assert logs.scrub(text) == expected


@pytest.mark.parametrize("text", [
    "call.ended call:8c1e5d02… evt=s-004",
    "GHL refused the token, trying once more",
    "tokens: 3 left in the budget",
    "missing scope contacts.write: GHL_SCOPES allows contacts.readonly",
    "Broker: redis://:**@127.0.0.1:6379/5",
])
def test_ordinary_operator_text_is_left_alone(text):
    assert logs.scrub(text) == text


def test_every_secret_of_the_settings_is_registered():
    settings = Settings.from_env({"GHL_TOKEN": "ghl-tok-1234", "TOKY_API_KEY": "toky-key-5678",
                                  "WEBHOOK_SECRET": "hook-9012",
                                  "FLOWER_BASIC_AUTH": "ops:pw-flower-1,viewer:pw-view-22"})
    logs.register_settings_secrets(settings)
    text = logs.scrub("ghl-tok-1234 toky-key-5678 hook-9012 https://ops:pw-flower-1@x/ pw-view-22")
    assert text == "*** *** *** https://ops:***@x/ ***"


# -- rendering ----------------------------------------------------------------------


def test_json_lines_when_stderr_is_not_a_terminal(capsys):
    logs.register_secrets([TOKEN])
    logs.configure("INFO")  # capsys's stderr is not a terminal
    structlog.get_logger("toky_ghl.test").info("ghl.request", path="/contacts/", token=TOKEN)
    (line,) = _lines(capsys.readouterr().err)
    assert line["event"] == "ghl.request"
    assert line["token"] == "***"
    assert line["level"] == "info"
    assert line["logger"] == "toky_ghl.test"
    assert "timestamp" in line


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_readable_coloured_lines_on_a_terminal(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    logs.register_secrets([TOKEN])
    logs.configure("INFO")
    structlog.get_logger("toky_ghl.test").info("event applied", label="x", secret=TOKEN)
    out = terminal.getvalue()
    assert "\x1b[" in out  # ANSI colours
    assert "event applied" in out
    assert TOKEN not in out
    with pytest.raises(ValueError):
        json.loads(out)


def test_log_format_chooses_json_or_readable_lines_whatever_the_stream(monkeypatch, capsys):
    from toky_ghl.settings import get_settings

    monkeypatch.setenv("LOG_FORMAT", "console")  # e.g. children of `toky-ghl run`
    get_settings.cache_clear()
    logs.configure("INFO")
    structlog.get_logger("toky_ghl.test").info("readable", token=TOKEN)
    out = capsys.readouterr().err
    assert "readable" in out and TOKEN not in out
    with pytest.raises(ValueError):
        json.loads(out)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("LOG_FORMAT", "json")
    get_settings.cache_clear()
    logs.configure("INFO")
    structlog.get_logger("toky_ghl.test").info("machine")
    assert json.loads(terminal.getvalue())["event"] == "machine"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"})


def test_tracebacks_are_redacted_for_structlog_and_stdlib_lines(capsys):
    logs.register_secrets([TOKEN])
    logs.configure("INFO", json=True)
    for logger in (structlog.get_logger("toky_ghl.test"), logging.getLogger("celery.app.trace")):
        try:
            raise RuntimeError(f"request failed with Bearer {TOKEN}")
        except RuntimeError:
            logger.exception("task failed")
    lines = _lines(capsys.readouterr().err)
    assert len(lines) == 2
    for line in lines:
        assert "RuntimeError: request failed with Bearer ***" in line["exception"]
        assert TOKEN not in json.dumps(line)


# -- Celery's own logging ---------------------------------------------------------------


@pytest.fixture
def celery_logging(monkeypatch, capsys):
    """Celery's logging set-up, as a worker runs it, with secrets in the settings."""
    from toky_ghl.settings import get_settings

    # The levels a worker's set-up gives Celery's per-task loggers, put back after the test
    # (logger levels are process-wide: later tests log through them).
    from worker.celery import DEBUG_ONLY_LOGGERS

    for name in DEBUG_ONLY_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.getLogger(name).level)

    def setup(level: str = "INFO") -> None:
        for name, value in {"GHL_TOKEN": TOKEN, "TOKY_API_KEY": TOKY_KEY,
                            "WEBHOOK_SECRET": HOOK_SECRET, "LOG_LEVEL": level,
                            "FLOWER_BASIC_AUTH": "ops:flower-pw-77"}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        from worker.celery import app

        assert app.conf.worker_hijack_root_logger is False
        monkeypatch.setattr(app.log, "already_setup", False)
        # Celery's own entry point: with a setup_logging receiver it installs nothing itself.
        app.log.setup_logging_subsystem(loglevel=level)

    return setup


def test_celery_log_lines_go_through_the_same_pipeline(celery_logging, capsys):
    celery_logging("INFO")
    logging.getLogger("celery.worker.strategy").warning("Task %s[%s] received", "toky_ghl.x",
                                                        "t-1")
    logging.getLogger("celery.app.trace").warning(
        "Task retry: GHL answered 401 for token %s (Toky key %s, hook %s, flower %s)",
        TOKEN, TOKY_KEY, HOOK_SECRET, "ops:flower-pw-77")
    lines = _lines(capsys.readouterr().err)
    assert [line["logger"] for line in lines] == ["celery.worker.strategy", "celery.app.trace"]
    assert lines[0]["event"] == "Task toky_ghl.x[t-1] received"
    flat = json.dumps(lines)
    for secret in (TOKEN, TOKY_KEY, HOOK_SECRET, "flower-pw-77"):
        assert secret not in flat


def test_log_level_filters_structlog_and_celery_lines(celery_logging, capsys):
    celery_logging("WARNING")
    structlog.get_logger("toky_ghl.test").info("not shown")
    logging.getLogger("celery.app.trace").info("not shown either")
    structlog.get_logger("toky_ghl.test").warning("shown")
    logging.getLogger("celery.app.trace").error("shown too")
    assert [line["event"] for line in _lines(capsys.readouterr().err)] == ["shown", "shown too"]


def test_a_bad_log_level_is_refused_naming_the_variable():
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        Settings.from_env({"LOG_LEVEL": "LOUD"})


# -- the task's context -------------------------------------------------------------


def test_every_line_of_a_task_carries_its_context_then_none(capsys, monkeypatch):
    from toky_ghl.settings import get_settings
    from worker import log_context

    monkeypatch.setenv("GHL_LOCATION_ID", "loc-1")
    get_settings.cache_clear()
    logs.configure("INFO", json=True)
    event = {"id": "s-004", "type": "call.ended", "occurred_at": "2026-11-02T10:00:00Z",
             "data": {"callid": "8c1e5d02", "direction": "inbound", "state": "completed"}}
    # Given a task starting (Celery's task_prerun signal)
    log_context.bind_task_context(task_id="t-42", args=(event,))
    # When the GHL client, the pipeline and Celery log during the task
    structlog.get_logger("clients.ghl.transport").info("ghl.request", path="/contacts/")
    logging.getLogger("celery.app.trace").info("Task succeeded")
    log_context.clear_task_context()
    structlog.get_logger("toky_ghl.test").info("after the task")
    first, second, after = _lines(capsys.readouterr().err)
    expected = {"event_id": "s-004", "event_type": "call.ended", "toky_key": "call:8c1e5d02",
                "task_id": "t-42", "location": "loc-1"}
    for line in (first, second):
        assert {k: line.get(k) for k in expected} == expected
    assert not set(expected) & set(after)


def test_an_invalid_event_still_gives_its_id_and_type():
    from worker.log_context import task_context

    context = task_context({"id": "bad-1", "type": "call.ended", "data": {}}, "t-1", None)
    assert context["event_id"] == "bad-1"
    assert context["toky_key"] is None
    assert task_context("not a dict", "t-2", "loc")["task_id"] == "t-2"


# -- hostile values -------------------------------------------------------------------


def test_a_250_kb_value_is_scrubbed_in_bounded_time_and_logged_cut():
    # Given a 250 KB unauthenticated path (every pattern used to be tried from each of its
    # characters: ~35 minutes of CPU)
    path = "/webhooks/toky/" + "A" * 250_000
    # When scrubbed whole, and logged
    started = time.monotonic()
    assert logs.scrub(path) == path
    out = _redact(event="webhook.unauthorized", toky_event=path,
                  nested={"list": [path, "token=" + "b" * 250_000]})
    elapsed_s = time.monotonic() - started
    # Then both finish in seconds at worst (a generous bound for a busy machine: the
    # quadratic scrub took minutes), and the logged values are cut
    assert elapsed_s < 60
    assert len(out["toky_event"]) < logs.MAX_VALUE_CHARS + 100
    assert out["toky_event"].endswith("more characters not logged]")
    assert all(len(v) < logs.MAX_VALUE_CHARS + 100 for v in out["nested"]["list"])
    assert "bbbbbbbbbb" not in out["nested"]["list"][1]  # the named secret scrubbed


@pytest.mark.parametrize("at", [logs.MAX_VALUE_CHARS - 30, logs.MAX_VALUE_CHARS - 5])
def test_a_credential_cut_in_two_by_the_length_limit_is_dropped_whole(at):
    # Given a long value with an unregistered bearer token straddling the cut
    bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig"
    text = "x " * (at // 2) + bearer + " tail" * 500
    # When logged
    out = _redact(event="ghl.response", detail=text)["detail"]
    # Then no piece of the token is kept
    assert "eyJhbGci" not in out and "c2VjcmV0" not in out


@pytest.mark.parametrize("level, shown", [("INFO", False), ("DEBUG", True)])
def test_celerys_per_task_lines_are_debug_lines_and_its_failures_errors(celery_logging, capsys,
                                                                       level, shown):
    # Given a worker's logging at LOG_LEVEL (one INFO line of ours per event: Celery's
    # "received" and "succeeded" lines say nothing more)
    celery_logging(level)
    # When Celery logs a task as received, then as succeeded, and another as failed
    logging.getLogger("celery.worker.strategy").info("Task %s[%s] received", "toky_ghl.x", "t-1")
    logging.getLogger("celery.app.trace").info("Task %s[%s] succeeded", "toky_ghl.x", "t-1")
    logging.getLogger("celery.app.trace").error("Task %s[%s] raised unexpected: %s",
                                                "toky_ghl.x", "t-2", "KeyError")
    # Then "received" and "succeeded" are shown at DEBUG only, the failure always
    events = [line["event"] for line in _lines(capsys.readouterr().err)]
    assert ("Task toky_ghl.x[t-1] received" in events) is shown
    assert ("Task toky_ghl.x[t-1] succeeded" in events) is shown
    assert "Task toky_ghl.x[t-2] raised unexpected: KeyError" in events
