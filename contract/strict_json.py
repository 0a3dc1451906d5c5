"""JSON as producers read it: no ``NaN``/``Infinity``, no crash on deep nesting.

Python's ``json`` accepts ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON), and
raises ``RecursionError`` (not ``ValueError``) on a very deep nesting. ``loads``
refuses both with a ``ValueError`` saying why, so a hostile body or line is a clear
400 (an invalid line), never a crash. ``1e999`` still decodes (as infinity), so
that validation can name its field (``contract.events.validate_event``).
"""

from __future__ import annotations

import json
from typing import Any


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def loads(text: str | bytes) -> Any:
    """``text`` decoded; ``ValueError`` (``json.JSONDecodeError`` for bad syntax) otherwise."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None
