"""Toky REST client: ``TokyClient``, its errors, and the ``filter`` helper.

Every path and field name (and which of them are unconfirmed) lives in
``clients.toky.paths``.
"""

from clients.toky.client import TokyClient
from clients.toky.errors import (
    TokyAuthError,
    TokyConflictError,
    TokyConnectionError,
    TokyError,
    TokyNotFoundError,
    TokyRateLimitedError,
    TokyServerError,
    TokyValidationError,
)
from clients.toky.filters import created_between

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
