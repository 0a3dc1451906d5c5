"""``toky-ghl agents``: Toky agents beside GHL users, and a suggested ``agents:`` block."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

USERS_SCOPE = "users.readonly"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "agents", help="list Toky agents and GHL users, and suggest the field map's agents block",
        description="Lists Toky's agents (GET /agents) and the GHL location's users "
                    "(GET /users/search when locations.readonly lets it read the company id, "
                    "else the deprecated GET /users/; needs the users.readonly scope in "
                    "GHL_SCOPES), matches them "
                    "by email (case-insensitive) and prints an 'agents:' block for the field "
                    "map (FIELD_MAP). Without the scope the GHL side is skipped with a note.",
        epilog="exit status: 0 listed; 1 Toky or GHL answered with an error; 2 configuration.",
    )
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (agents, users, suggested map)")
    parser.set_defaults(func=run)


def suggest(agents: list[dict[str, Any]], users: list[dict[str, Any]] | None) -> dict[str,
                                                                                      str | None]:
    """Toky agent email (lower-cased) → the GHL user id with the same email (None: no match)."""
    by_email = {str(u.get("email") or "").strip().lower(): u.get("id") for u in users or []}
    emails = sorted({str(a.get("email") or "").strip().lower() for a in agents} - {""})
    return {email: by_email.get(email) for email in emails}


def agents_block(suggested: dict[str, str | None], users_known: bool) -> str:
    """The YAML ``agents:`` block; agents without a match are commented out."""
    lines = ["agents:"]
    for email, user_id in suggested.items():
        if user_id:
            lines.append(f"  {json.dumps(email)}: {json.dumps(user_id)}")
        else:
            why = "no GHL user with this email" if users_known else "GHL users not listed"
            lines.append(f"  # {json.dumps(email)}: <GHL user id>   ({why})")
    if len(lines) == 1:
        lines[0] = "agents: {}"
    return "\n".join(lines)


def _ghl_users(settings: Any) -> tuple[list[dict[str, Any]] | None, str | None, bool]:
    """``(users, note, failed)``: the GHL users, or None with the reason they are not listed."""
    if USERS_SCOPE not in settings.ghl_scopes:
        return None, (f"GHL users not listed: GHL_SCOPES lacks {USERS_SCOPE} (grant it to the "
                      f"token and add it to GHL_SCOPES to match agents to users)"), False
    if not settings.ghl_location_id:
        return None, "GHL users not listed: GHL_LOCATION_ID not set", False
    from clients.ghl.errors import GhlError, GhlScopeError
    from toky_ghl.errors import ConfigError
    from worker.runtime import build_runtime

    try:  # the workers' own client: a PIT, a rotated one or OAuth, whichever is configured
        return build_runtime(settings).client.list_users(), None, False
    except ConfigError as exc:
        return None, f"GHL users not listed: {exc}", False
    except GhlScopeError as exc:
        return None, f"GHL users not listed: {exc}", False
    except GhlError as exc:
        return None, f"GHL users not listed: GHL answered: {exc}", True


def run(args: argparse.Namespace) -> int:
    from clients.toky import TokyClient, TokyError
    from toky_ghl.settings import get_settings

    settings = get_settings()
    with TokyClient.from_settings(settings) as client:
        try:
            agents = client.agents()
        except TokyError as exc:
            print(f"toky-ghl agents: {exc}", file=sys.stderr)
            return 1
    users, note, failed = _ghl_users(settings)
    suggested = suggest(agents, users)
    if args.json:
        print(json.dumps({"toky_agents": agents, "ghl_users": users, "note": note,
                          "agents": suggested}, indent=2))
        return 1 if failed else 0
    print(f"Toky agents ({len(agents)}):")
    for agent in agents:
        print(f"  {agent.get('email', '')}\t{agent.get('fullname', '')}\t"
              f"{agent.get('phone_number', '')}")
    if users is None:
        print(note)
    else:
        print(f"GHL users ({len(users)}):")
        for user in users:
            print(f"  {user.get('id', '')}\t{user.get('name', '')}\t{user.get('email', '')}")
    print("\nSuggested field-map block (agents matched by email):")
    print(agents_block(suggested, users is not None))
    return 1 if failed else 0
