"""What ``toky-ghl auth status`` and ``toky-ghl status`` show: the plain summary, never a
token (read from the unencrypted ``meta`` hash, so no key is needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis

from toky_ghl.settings import Settings
from worker.auth.bootstrap import make_store
from worker.auth.errors import NO_CREDENTIALS
from worker.auth.provider import env_label


def _iso(epoch_s: str | float | None) -> str | None:
    if epoch_s in (None, ""):
        return None
    return datetime.fromtimestamp(float(epoch_s), UTC).isoformat(timespec="seconds")


def pause_report(settings: Settings, client: redis.Redis) -> dict[str, Any] | None:
    """``{"location", "reason", "since", "current"}`` when a pause is recorded, else None."""
    if not settings.ghl_location_id:
        return None
    store = make_store(settings, client)
    version, pause = store.probe()[0], store.get_pause()  # the record (an older version's too)
    if pause is None:
        return None
    if version is None and not settings.ghl_token:
        current = True  # GHL_TOKEN of the workers is not known here: assume it still holds
    else:
        current = pause.holds_for(f"v{version}" if version is not None
                                  else env_label(settings.ghl_token))
    return {"location": store.location_id, "reason": pause.reason, "since": _iso(pause.at_s),
            "current": current}


def auth_report(settings: Settings, client: redis.Redis, now_s: float) -> dict[str, Any]:
    """Kind, source, scopes, location, expiry, last refresh and pause of the credentials."""
    store = make_store(settings, client)
    meta = store.summary()
    report: dict[str, Any] = {"location": store.location_id,
                              "oauth_client_id": settings.ghl_client_id,
                              "encryption_key_set": bool(settings.token_encryption_key)}
    if meta.get("version"):
        expires = meta.get("expires_at_s") or None
        report.update({
            "kind": meta.get("kind"), "source": meta.get("source"),
            "credentials_version": int(meta.get("version", 0)),
            "scopes": (meta.get("scopes") or "").split(),
            "updated_at": _iso(meta.get("updated_at_s")),
            "expires_at": _iso(expires),
            "expires_in_s": None if expires is None else int(float(expires) - now_s),
            "last_refresh_at": _iso(meta.get("refreshed_at_s")),
            "refreshes": int(meta.get("refreshes", 0)),
        })
    else:
        report.update({"kind": "pit" if settings.ghl_token else None,
                       "source": "GHL_TOKEN" if settings.ghl_token else None,
                       "credentials_version": None, "scopes": [], "updated_at": None,
                       "expires_at": None, "expires_in_s": None, "last_refresh_at": None,
                       "refreshes": 0})
    report["scopes_in_use"] = (report["scopes"] if report["kind"] == "oauth"
                               and report["scopes"] and not settings.ghl_scopes_set
                               else sorted(settings.ghl_scopes))
    report["paused"] = pause_report(settings, client)
    report["in_force"], report["warning"] = _in_force(settings, store, report)
    return report


def _in_force(settings: Settings, store: Any, report: dict[str, Any]
              ) -> tuple[str | None, str | None]:
    """Which credential a worker uses now (None: none), and a warning when ``GHL_TOKEN`` is
    set but is not the one in force (workers prefer what is stored in Redis)."""
    version = report["credentials_version"]
    if version is None:
        if settings.ghl_token:
            return "GHL_TOKEN (nothing stored in Redis)", None
        if settings.ghl_refresh_token and settings.ghl_client_id:
            return "GHL_REFRESH_TOKEN (stored by the first worker that starts)", None
        return None, None
    kind = {"pit": "Private Integration Token", "oauth": "OAuth"}.get(report["kind"] or "", "?")
    in_force = (f"the {kind} stored in Redis (version {version}, by "
                f"{report['source'] or '?'}), not GHL_TOKEN")
    if not settings.ghl_token:
        return in_force.removesuffix(", not GHL_TOKEN"), None
    if report["kind"] == "pit" and store.cipher is not None:
        try:
            stored = store.load()
        except Exception:  # a wrong key: cannot compare, warn below
            stored = None
        if stored is not None and stored.access_token == settings.ghl_token:
            return (f"the Private Integration Token stored in Redis (version {version}), "
                    "the same as GHL_TOKEN"), None
    return in_force, ("GHL_TOKEN is set but NOT used: workers use the credentials stored in "
                      "Redis (version " + str(version) + "); to use GHL_TOKEN instead, run "
                      "`toky-ghl auth forget --yes`, or store it with `toky-ghl auth rotate`")


def format_auth(report: dict[str, Any]) -> str:
    kind = {"pit": "Private Integration Token", "oauth": "OAuth"}.get(report["kind"] or "",
                                                                      "none")
    lines = [f"location      {report['location']}",
             f"credentials   {kind} (from {report['source'] or 'nowhere'}"
             + (f", version {report['credentials_version']})" if report["credentials_version"]
                else ")"),
             f"in force      {report['in_force'] or 'NONE: ' + NO_CREDENTIALS}",
             f"scopes        {' '.join(report['scopes_in_use']) or '(none)'}"]
    if report["kind"] == "oauth":
        lines.append(f"expires       {report['expires_at']} (in {report['expires_in_s']} s)")
        lines.append(f"last refresh  {report['last_refresh_at'] or 'never'} "
                     f"({report['refreshes']} refreshes)")
    lines.append(format_pause(report["paused"]))
    if report["warning"]:
        lines.append(f"WARNING       {report['warning']}")
    return "\n".join(lines)


def format_pause(paused: dict[str, Any] | None) -> str:
    if not paused:
        return "paused        no"
    state = "" if paused["current"] else " (stale: the credentials changed since)"
    return (f"paused        YES since {paused['since']}{state}: {paused['reason']} "
            "(lifted by `toky-ghl auth rotate` / `auth login`, or `toky-ghl auth resume`)")
