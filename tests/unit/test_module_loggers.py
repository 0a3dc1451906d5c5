"""Module loggers (``logs.get_logger``) cost little per call and still follow the
configuration: a later ``configure()``, a test's ``reset_defaults()`` and
``capture_logs()`` reach a logger already used; a line of a disabled level is dropped
before the processor chain, as ``filter_by_level`` would drop it, and reacts to a level
change."""

from __future__ import annotations

import json
import logging

import structlog

from toky_ghl import logs
from toky_ghl.loggers import LevelCheckedLogger

log = logs.get_logger("toky_ghl.test.module")


def _lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def test_a_module_logger_follows_every_configuration_after_its_first_use(capsys):
    # Given a module logger used under JSON logging
    logs.configure("INFO", json=True)
    log.info("first", n=1)
    (first,) = _lines(capsys.readouterr().err)
    assert json.loads(first)["event"] == "first"
    # When the configuration is reset and a test captures the lines
    structlog.reset_defaults()
    with structlog.testing.capture_logs() as captured:
        log.info("captured", n=2)
        log.debug("captured too", n=3)  # capture_logs has no level filter
    # Then the same logger's lines are captured, none written
    assert [(e["event"], e["log_level"]) for e in captured] == [("captured", "info"),
                                                              ("captured too", "debug")]
    assert capsys.readouterr().err == ""
    # And a new configuration (readable lines) reaches it too
    logs.configure("INFO", json=False)
    log.info("readable", n=4)
    (readable,) = _lines(capsys.readouterr().err)
    assert "readable" in readable and not readable.startswith("{")


def test_capture_logs_over_our_configuration_catches_a_used_logger(capsys):
    # Given our configuration, and a module logger already used under it
    logs.configure("INFO", json=True)
    log.info("before")
    capsys.readouterr()
    # When a test captures lines over that configuration
    with structlog.testing.capture_logs() as captured:
        log.warning("inside", token="t")
    # Then the line is captured, and after the capture lines are written again
    assert [e["event"] for e in captured] == ["inside"]
    log.info("after")
    assert [json.loads(line)["event"] for line in _lines(capsys.readouterr().err)] == ["after"]


def test_a_module_logger_is_built_once_per_configuration():
    # Given our configuration
    logs.configure("INFO", json=True)
    # When a module logger is called twice, then configured anew and called again
    first, second = log._logger(), log._logger()
    logs.configure("INFO", json=True)
    third = log._logger()
    # Then the first two calls share one bound logger and the new configuration builds another
    assert first is second
    assert third is not first
    assert isinstance(third, LevelCheckedLogger)


def test_a_logger_of_another_factory_is_not_kept(capsys):
    # Given structlog's defaults (a print logger writing to sys.stdout as it is at the call)
    structlog.reset_defaults()
    # When a module logger writes twice, capsys's stdout being read in between
    log.info("one")
    out_one = capsys.readouterr().out
    log.info("two")
    # Then each line went to the stdout of its own time
    assert "one" in out_one and "two" in capsys.readouterr().out


def _spied_configuration() -> list[str]:
    seen: list[str] = []

    def spy(_logger, method, event_dict):
        seen.append(method)
        return event_dict

    structlog.configure(processors=[structlog.stdlib.filter_by_level, spy,
                                    structlog.processors.JSONRenderer()],
                        logger_factory=structlog.stdlib.LoggerFactory(),
                        wrapper_class=LevelCheckedLogger)
    return seen


def test_a_disabled_level_is_dropped_before_the_processor_chain():
    # Given a chain that starts with filter_by_level, a spy after it, and INFO logging
    seen = _spied_configuration()
    logging.getLogger().setLevel(logging.INFO)
    bound = structlog.get_logger("toky_ghl.test.level").bind(k=1)
    # When a debug and an info line are logged
    assert bound.debug("dropped", x=1) is None
    bound.info("kept")
    # Then only the info line went through the chain
    assert seen == ["info"]


def test_the_level_check_follows_level_changes_and_disabled_loggers():
    # Given the spied chain and a logger at INFO
    seen = _spied_configuration()
    logging.getLogger().setLevel(logging.INFO)
    bound = structlog.get_logger("toky_ghl.test.level2").bind()
    # When the level is lowered to DEBUG, a debug line goes through
    logging.getLogger().setLevel(logging.DEBUG)
    bound.debug("now shown")
    # And when the standard logger is disabled, nothing goes through
    logging.getLogger("toky_ghl.test.level2").disabled = True
    try:
        bound.error("not shown")
    finally:
        logging.getLogger("toky_ghl.test.level2").disabled = False
    # And a logger's own level counts, as filter_by_level counts it
    logging.getLogger("toky_ghl.test.level2").setLevel(logging.ERROR)
    try:
        bound.warning("not shown either")
        bound.error("shown")
    finally:
        logging.getLogger("toky_ghl.test.level2").setLevel(logging.NOTSET)
    assert seen == ["debug", "error"]


def test_without_filter_by_level_first_every_level_takes_the_chain():
    # Given a chain without filter_by_level first (a test's own, say) and WARNING logging
    seen: list[str] = []
    structlog.configure(processors=[lambda _l, m, d: seen.append(m) or d,
                                    structlog.processors.JSONRenderer()],
                        logger_factory=structlog.stdlib.LoggerFactory(),
                        wrapper_class=LevelCheckedLogger)
    logging.getLogger().setLevel(logging.WARNING)
    # When a debug line is logged, then it reaches the chain (the chain decides, as before)
    structlog.get_logger("toky_ghl.test.level3").debug("in the chain")
    assert seen == ["debug"]
