"""The body of a Toky webhook as a dict: JSON or form-encoded (Toky documents neither)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from flask import Request

from contract import strict_json


class BadPayload(ValueError):
    """A body that is not a JSON object or a form; ``field`` is ``"body"``."""

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = strict_json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadPayload("body: not valid UTF-8") from None
    except ValueError as exc:
        raise BadPayload(f"body: not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadPayload(f"body: must be a JSON object, got {type(body).__name__}")
    return body


def _form(raw: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise BadPayload("body: neither a JSON object nor a form-encoded body") from None
    form: dict[str, Any] = {}
    for key, value in pairs:
        form.setdefault(key, value)  # a repeated field: the first value
    return form


def parse_body(request: Request) -> dict[str, Any]:
    """The payload of ``request``. JSON when the content type says so or the body starts
    with ``{``, whatever the declared type (``curl -d '{...}'`` declares a form; a form
    body never starts with a raw ``{``), form-encoded otherwise (``multipart/form-data``
    too). Raises ``BadPayload``.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadPayload("body: empty")
    mimetype = request.mimetype or ""
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return _json(raw)
    if mimetype == "multipart/form-data":
        return request.form.to_dict(flat=True)
    return _json(raw) if raw.lstrip()[:1] == b"{" else _form(raw)
