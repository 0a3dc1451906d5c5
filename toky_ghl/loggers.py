"""Module loggers that cost little per call (issue 12: structlog was ~8% of worker CPU).

``ModuleLogger`` is what ``logs.get_logger`` answers for a module-level ``log``. Like
structlog's lazy proxy it follows the configuration (a later ``configure()``,
``structlog.reset_defaults()``, ``structlog.testing.capture_logs()``), but it builds the
bound logger once per configuration instead of once per call: structlog's own
``cache_logger_on_first_use`` keeps the first one for ever, so a logger used before a
test's ``reset_defaults`` or a second ``configure`` would miss that test's
``capture_logs``. Only the standard-library logger factory's loggers are kept (the same
``logging.Logger`` per name); any other factory's are built per call, as before.

``LevelCheckedLogger`` (our ``wrapper_class``) drops a line of a disabled level before
the processor chain, when that chain starts with ``filter_by_level``, with the same test
(``filter_by_level`` would drop it after copying the context and the line's keys).
"""

from __future__ import annotations

import logging
from typing import Any

import structlog
from structlog._config import _CONFIG  # the live configuration (get_config() copies it)
from structlog.stdlib import filter_by_level

#: ``filter_by_level``'s levels by method name; a name not here takes the full chain.
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "warn": logging.WARNING, "error": logging.ERROR, "exception": logging.ERROR,
           "critical": logging.CRITICAL, "fatal": logging.CRITICAL}


class LevelCheckedLogger(structlog.stdlib.BoundLogger):
    """structlog's standard-library bound logger, without the processor chain's cost for
    a line ``filter_by_level`` would drop anyway."""

    def _proxy_to_logger(self, method_name: str, event: str | None = None,
                         *event_args: str, **event_kw: Any) -> Any:
        processors = self._processors
        if type(processors) is list and processors and processors[0] is filter_by_level:
            level = _LEVELS.get(method_name)
            logger = self._logger
            # filter_by_level's own test, negated (not isEnabledFor: see filter_by_level)
            if level is not None and (logger.disabled or level < logger.getEffectiveLevel()):
                return None
        return super()._proxy_to_logger(method_name, event, *event_args, **event_kw)


class ModuleLogger:
    """A module-level logger named ``name``: each call goes to a bound logger built once
    per structlog configuration (see the module's docstring)."""

    __slots__ = ("_name", "_cached")

    def __init__(self, name: str | None) -> None:
        self._name = name
        #: (processors, logger factory, wrapper class, context class, bound logger): one
        #: tuple, replaced whole, so a thread never pairs a configuration with another's logger
        self._cached: tuple[Any, ...] = (None, None, None, None, None)

    def _logger(self) -> Any:
        config = _CONFIG
        cached = self._cached
        if (cached[0] is config.default_processors and cached[1] is config.logger_factory
                and cached[2] is config.default_wrapper_class
                and cached[3] is config.default_context_class):
            return cached[4]
        processors, factory = config.default_processors, config.logger_factory
        wrapper_class, context_class = config.default_wrapper_class, config.default_context_class
        bound = structlog.get_logger(*(() if self._name is None else (self._name,))).bind()
        if isinstance(factory, structlog.stdlib.LoggerFactory):
            # the same logging.Logger per name: safe to keep until the configuration changes
            self._cached = (processors, factory, wrapper_class, context_class, bound)
        return bound

    def debug(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._logger().debug(event, *args, **kw)

    def info(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._logger().info(event, *args, **kw)

    def warning(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._logger().warning(event, *args, **kw)

    def error(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._logger().error(event, *args, **kw)

    def exception(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._logger().exception(event, *args, **kw)

    def bind(self, **new_values: Any) -> Any:
        return self._logger().bind(**new_values)

    def __getattr__(self, name: str) -> Any:
        # every other method (critical, log, new, unbind, isEnabledFor, ...): as it is
        return getattr(self._logger(), name)

    def __repr__(self) -> str:
        return f"<ModuleLogger {self._name!r}>"
