"""The GHL (HighLevel) API v2 client: errors, retry policy, scopes, HTTP calls.

``GhlClient`` makes ONE attempt per call; retrying is the caller's decision,
taken with ``RetryPolicy`` (the worker retries through Celery).
"""

from worker.ghl.client import GhlClient
from worker.ghl.errors import (
    GhlAuthError,
    GhlConnectionError,
    GhlDuplicateContactError,
    GhlError,
    GhlNotFoundError,
    GhlPermissionError,
    GhlRateLimitedError,
    GhlScopeError,
    GhlServerError,
    GhlTokenScopeError,
    GhlValidationError,
    error_from_response,
)
from worker.ghl.retry import RetryPolicy, call_with_retries, is_retryable
from worker.ghl.scopes import check_scope, required_scope

__all__ = [
    "GhlAuthError",
    "GhlClient",
    "GhlConnectionError",
    "GhlDuplicateContactError",
    "GhlError",
    "GhlNotFoundError",
    "GhlPermissionError",
    "GhlRateLimitedError",
    "GhlScopeError",
    "GhlTokenScopeError",
    "GhlServerError",
    "GhlValidationError",
    "RetryPolicy",
    "call_with_retries",
    "check_scope",
    "error_from_response",
    "is_retryable",
    "required_scope",
]
