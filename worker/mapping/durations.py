"""Durations as people read them."""

from __future__ import annotations


def duration_text(seconds: int | float | str | None) -> str:
    """Seconds as ``"3m 4s"`` (184), ``"21s"`` (21), ``"1h 2m 5s"`` (3725); None → "unknown"."""
    if seconds is None or seconds == "":
        return "unknown"
    total_s = int(round(float(seconds)))
    hours, rest_s = divmod(total_s, 3600)
    minutes, secs = divmod(rest_s, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
