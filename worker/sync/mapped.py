"""Mapping failures as the sync layer's ``Unprocessable`` (dead-lettered, never retried)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from marshmallow import ValidationError

from worker.sync.outcome import Unprocessable

T = TypeVar("T")


def _lines(messages: Any, path: str) -> Iterator[str]:
    if isinstance(messages, dict):
        for name, inner in messages.items():
            yield from _lines(inner, f"{path}.{name}" if path else str(name))
    elif isinstance(messages, list):
        for message in messages:
            yield from _lines(message, path)
    else:
        yield f"{path}: {messages}" if path else str(messages)


def mapped(build: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``build(*args, **kwargs)``; a marshmallow ``ValidationError`` becomes ``Unprocessable``
    naming the Toky field, e.g. ``"cannot map data.lead_score: custom field number: …"``."""
    try:
        return build(*args, **kwargs)
    except ValidationError as exc:
        raise Unprocessable("cannot map " + "; ".join(_lines(exc.messages, "data"))) from None
