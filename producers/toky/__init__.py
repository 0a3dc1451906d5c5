"""Toky REST client: ``TokyClient``, its errors, and the ``filter`` helper.

Every path and field name (and which of them are unconfirmed) lives in
``producers.toky.paths``.
"""

from producers.toky.client import TokyClient
from producers.toky.errors import (
    TokyAuthError,
    TokyConflictError,
    TokyConnectionError,
    TokyError,
    TokyNotFoundError,
    TokyRateLimitedError,
    TokyServerError,
    TokyValidationError,
)
from producers.toky.filters import created_between

__all__ = [
    "TokyAuthError",
    "TokyClient",
    "TokyConflictError",
    "TokyConnectionError",
    "TokyError",
    "TokyNotFoundError",
    "TokyRateLimitedError",
    "TokyServerError",
    "TokyValidationError",
    "created_between",
]
