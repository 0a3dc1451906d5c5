"""A URL's password, and the URL shown without it (``redis://:***@host:6379/0``).

Apart from ``logs`` so that the settings, which mask ``REDIS_URL`` in their errors
and ``repr``, do not import the logging set-up (which reads ``LOG_FORMAT`` from them).
"""

from __future__ import annotations

#: What a secret is replaced with wherever it would be shown.
REDACTED = "***"


def url_password(url: str | None) -> str | None:
    """The password of ``scheme://user:password@host...`` (None when it has none)."""
    if not url or "://" not in url:
        return None
    authority = url.split("://", 1)[1]
    if "@" not in authority:
        return None
    credentials = authority.rsplit("@", 1)[0]  # a stray '@' in the password stays in it
    return credentials.partition(":")[2] or None


def mask_url(url: str) -> str:
    """``url`` with its password (if any) shown as ``***``: ``redis://:***@host:6379/0``."""
    password = url_password(url)
    if not password:
        return url
    head, _, tail = url.rpartition(password + "@")
    return f"{head}{REDACTED}@{tail}"
