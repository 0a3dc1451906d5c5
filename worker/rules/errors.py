"""Errors of the rules engine: one for a bad rules file, one carrying where an action failed."""

from __future__ import annotations

import contextlib

from toky_ghl.errors import ConfigError


class RulesError(ConfigError):
    """The rules file is invalid; the message names the rule and what is wrong,
    e.g. ``rules[3].do[1].due_in: expected a duration like 90m, got 'soon'``."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def failed_where(exc: BaseException) -> str | None:
    """The rule and action an action's exception came from (set by the engine), or None."""
    return getattr(exc, "toky_ghl_rule_action", None)


def mark_where(exc: BaseException, where: str) -> None:
    """Remember on ``exc`` which rule and action raised it (the dead letter names them)."""
    if failed_where(exc) is None:
        # an exception class with __slots__ stays unnamed
        with contextlib.suppress(AttributeError):
            exc.toky_ghl_rule_action = where  # type: ignore[attr-defined]
